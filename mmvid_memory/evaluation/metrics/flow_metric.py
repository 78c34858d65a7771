"""End-point error of displacement fields against SynthVID-Flow's ground truth."""
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric

from mmvid_memory.models.flownets.flow_supervision import endpoint_error, pool_flow


@METRICS.register_module()
class FlowEPEMetric(BaseMetric):
    """Mean EPE in feature pixels, overall and per frame gap, with the zero field's.

    The ground truth (image pixels) is area-averaged onto the prediction's grid
    and divided by its stride (``pred_stride`` of the sample). Reported:
    ``flow/epe``, ``flow/zero_epe`` (what the identity warp leaves),
    ``flow/epe_moving`` and ``flow/zero_epe_moving`` on cells that move more
    than ``moving_threshold`` feature pixels, and ``flow/epe_gap{g}``.

    Args:
        moving_threshold (float): feature pixels.
        collect_device (str): see :class:`mmengine.evaluator.BaseMetric`.
        prefix (str, optional): metric prefix (default ``flow``).
    """
    default_prefix = 'flow'

    def __init__(self, moving_threshold: float = 0.25, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.moving_threshold = float(moving_threshold)

    def process(self, data_batch: dict, data_samples: Sequence) -> None:
        for sample in data_samples:
            if not isinstance(sample, dict):  # the Evaluator passes to_dict()'s flat dicts
                sample = sample.to_dict()
            pred, gt = sample['pred_flow'], sample['gt_flow']
            meta = sample.get('metainfo', sample)
            stride = float(meta['pred_stride'])
            gt = pool_flow(gt[None].float().cpu(), tuple(pred.shape[-2:]))[0] / stride
            pred = pred.float().cpu()
            epe = endpoint_error(pred[None], gt[None])[0]
            zero = gt.norm(dim=0)
            moving = zero > self.moving_threshold
            self.results.append(dict(gap=int(meta['gap']), epe=float(epe.mean()),
                                     zero=float(zero.mean()),
                                     epe_moving=float(epe[moving].sum()),
                                     zero_moving=float(zero[moving].sum()),
                                     moving=int(moving.sum())))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            raise ValueError('FlowEPEMetric: no predictions to evaluate')
        out = dict(epe=float(np.mean([r['epe'] for r in results])),
                   zero_epe=float(np.mean([r['zero'] for r in results])))
        moving = sum(r['moving'] for r in results)
        if moving:
            out['epe_moving'] = sum(r['epe_moving'] for r in results) / moving
            out['zero_epe_moving'] = sum(r['zero_moving'] for r in results) / moving
        by_gap = defaultdict(list)
        for r in results:
            by_gap[r['gap']].append(r['epe'])
        for gap in sorted(by_gap):
            out[f'epe_gap{gap}'] = float(np.mean(by_gap[gap]))
        return {k: round(v, 4) for k, v in out.items()}


__all__ = ['FlowEPEMetric']
