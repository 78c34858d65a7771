"""Pre-training of a displacement network on pairs with ground-truth flow."""
from typing import Dict, List, Optional, Union

import torch
from mmdet.registry import MODELS
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement
from torch import Tensor

from ...utils.cfg_keys import check_cfg_keys
from .flow_supervision import FLOWNET_LEVEL_WEIGHTS, endpoint_error, multiscale_epe_loss, pool_flow


@MODELS.register_module()
class FlowNetPretrainer(BaseModel):
    """Trains ``flow_net`` (a :class:`FlowNetS`) with FlowNet's multi-scale EPE.

    Seed 003's displacement network starts from a FlowNet trained on Flying
    Chairs; this trains one on SynthVID-Flow (``configs/flownet/``). The
    weights are saved under ``flow_net.``; a memory config loads them with
    ``flow_net=dict(..., init_cfg=dict(type='Pretrained', checkpoint=PATH,
    prefix='flow_net.'))``.

    Args:
        flow_net (dict): the network's config.
        level_weights (dict, optional): level -> loss weight (FlowNet's
            0.32 / 0.08 / 0.02 / 0.01 / 0.005 for levels 6 .. 2).
        data_preprocessor (dict, optional): a :class:`FlowPairDataPreprocessor`.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self, flow_net: dict, level_weights: Optional[Dict[int, float]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor or
                         dict(type='FlowPairDataPreprocessor'), init_cfg=init_cfg)
        self.flow_net = MODELS.build(flow_net)
        weights = FLOWNET_LEVEL_WEIGHTS if level_weights is None else level_weights
        self.level_weights = {int(k): float(v) for k, v in weights.items()}
        levels = getattr(self.flow_net, 'levels', None)
        if level_weights is not None and levels is not None:
            # A weight for a level the network does not predict was ignored silently.
            check_cfg_keys(self.level_weights, levels, 'FlowNetPretrainer level_weights (the '
                           f'levels {type(self.flow_net).__name__} predicts)')

    @staticmethod
    def _gt(data_samples: List[BaseDataElement], device: torch.device) -> Tensor:
        shapes = {tuple(s.gt_flow.shape) for s in data_samples}
        if len(shapes) != 1:
            raise ValueError(f'FlowNetPretrainer: ground-truth fields of different sizes in one '
                             f'batch: {sorted(shapes)}')
        return torch.stack([s.gt_flow for s in data_samples]).to(device)

    def forward(self, inputs: Tensor, data_samples: Optional[List[BaseDataElement]] = None,
                mode: str = 'tensor') -> Union[Dict[str, Tensor], List[BaseDataElement], Tensor]:
        """``inputs``: (N, 6, H, W) normalised frame t then frame s.

        Modes: ``'loss'`` -> ``loss_flow{L}`` per supervised level and ``epe``
        (feature pixels, logged); ``'predict'`` -> the samples with
        ``pred_flow`` (2, h, w) in feature pixels and metainfo ``pred_stride``;
        ``'tensor'`` -> the (N, 2, h, w) fields.
        """
        img_cur, img_ref = inputs[:, :3], inputs[:, 3:]
        if mode == 'tensor':
            return self.flow_net(img_cur, img_ref)
        if data_samples is None:
            raise ValueError(f"FlowNetPretrainer: mode '{mode}' needs data_samples")
        if mode == 'loss':
            gt = self._gt(data_samples, inputs.device)
            preds = self.flow_net.predict_levels(img_cur, img_ref)
            unit = self.flow_net.downsample * self.flow_net.div_flow
            losses = {f'loss_flow{level}': value for level, value in
                      multiscale_epe_loss(preds, gt, unit, self.level_weights).items()}
            with torch.no_grad():
                stride = self.flow_net.feature_stride
                pred = preds[self.flow_net.out_level] * (unit / stride)
                losses['epe'] = endpoint_error(
                    pred, pool_flow(gt / stride, tuple(pred.shape[-2:]))).mean()
            return losses
        if mode == 'predict':
            fields = self.flow_net(img_cur, img_ref)
            for sample, field in zip(data_samples, fields):
                sample.pred_flow = field.detach()
                sample.set_metainfo(dict(pred_stride=float(self.flow_net.feature_stride)))
            return data_samples
        raise ValueError(f"FlowNetPretrainer: unknown mode '{mode}' (loss, predict, tensor)")
