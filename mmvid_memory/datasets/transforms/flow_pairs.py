"""Transforms of image pairs with a displacement field (SynthVID-Flow)."""
from typing import Optional

import cv2
import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS
from mmengine.structures import BaseDataElement


@TRANSFORMS.register_module()
class LoadFlowPair(BaseTransform):
    """Read ``img_cur``, ``img_ref`` (BGR uint8) and ``gt_flow`` ((h, w, 2)
    float32, image pixels) from the paths of a :class:`SynthVIDFlowDataset` item."""

    def transform(self, results: dict) -> dict:
        for key in ('img_cur', 'img_ref'):
            img = mmcv.imread(results[f'{key}_path'], channel_order='bgr')
            if img is None:
                raise FileNotFoundError(f'LoadFlowPair: cannot read {results[key + "_path"]}')
            results[key] = img
        flow = np.load(results['flow_path']).astype(np.float32)
        if flow.ndim != 3 or flow.shape[2] != 2:
            raise ValueError(f'LoadFlowPair: {results["flow_path"]} holds {flow.shape}, '
                             'expected (h, w, 2)')
        results['gt_flow'] = flow
        return results


@TRANSFORMS.register_module()
class RandomFlowFlip(BaseTransform):
    """Flip both images and the field left-right (the field's x negated).

    Args:
        prob (float): probability of a flip.
    """

    def __init__(self, prob: float = 0.5) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'RandomFlowFlip: prob must be in [0, 1], got {prob}')
        self.prob = prob

    def transform(self, results: dict) -> dict:
        if np.random.rand() < self.prob:
            results['img_cur'] = np.ascontiguousarray(results['img_cur'][:, ::-1])
            results['img_ref'] = np.ascontiguousarray(results['img_ref'][:, ::-1])
            flow = np.ascontiguousarray(results['gt_flow'][:, ::-1])
            flow[..., 0] *= -1
            results['gt_flow'] = flow
            results['flipped'] = True
        return results


@TRANSFORMS.register_module()
class RandomFlowTranslate(BaseTransform):
    """Shift the reference image by a random whole-pixel offset ``d`` and add
    ``d`` to the field (``I_t(p) = I_s(p + D)`` stays true for the shifted
    ``I_s``), as Flying Chairs' random affine motions do for FlowNet.

    SynthVID moves little between frames (a few pixels); without larger
    motions a flow network learns to predict zero. The border uncovered by
    the shift is filled by reflection.

    Args:
        max_shift (int): largest offset along x and y, image pixels.
        prob (float): probability of a shift.
    """

    def __init__(self, max_shift: int = 16, prob: float = 1.0) -> None:
        if max_shift < 0 or int(max_shift) != max_shift:
            raise ValueError(f'RandomFlowTranslate: max_shift must be an integer >= 0, '
                             f'got {max_shift}')
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'RandomFlowTranslate: prob must be in [0, 1], got {prob}')
        self.max_shift = int(max_shift)
        self.prob = prob

    def transform(self, results: dict) -> dict:
        if self.max_shift == 0 or np.random.rand() >= self.prob:
            return results
        dx, dy = (int(v) for v in np.random.randint(-self.max_shift, self.max_shift + 1, 2))
        results['img_ref'] = shift_image(results['img_ref'], dx, dy)
        flow = results['gt_flow'].copy()
        flow[..., 0] += dx
        flow[..., 1] += dy
        results['gt_flow'] = flow
        results['ref_shift'] = (dx, dy)
        return results


def shift_image(img: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``out(q) = img(q - (dx, dy))``: content moves by ``(dx, dy)``, borders reflected."""
    matrix = np.float64([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img, matrix, (img.shape[1], img.shape[0]), flags=cv2.INTER_NEAREST,
                          borderMode=cv2.BORDER_REFLECT)


@TRANSFORMS.register_module()
class PackFlowInputs(BaseTransform):
    """``inputs``: (6, H, W) uint8, frame t then frame s; ``data_samples``:
    ``gt_flow`` (2, h, w) with metainfo ``gap``, ``flow_stride`` (pixels of the
    image per cell of ``gt_flow``), ``video``, ``frame_cur``."""

    def __init__(self, meta_keys: Optional[tuple] = None) -> None:
        self.meta_keys = meta_keys or ('gap', 'flow_stride', 'video', 'frame_cur', 'flipped',
                                        'ref_shift')

    def transform(self, results: dict) -> dict:
        cur, ref = results['img_cur'], results['img_ref']
        if cur.shape != ref.shape:
            raise ValueError(f'PackFlowInputs: the images of a pair differ in shape '
                             f'({cur.shape} and {ref.shape}): {results.get("img_cur_path")}')
        pair = np.concatenate([cur, ref], axis=2).transpose(2, 0, 1)
        sample = BaseDataElement(metainfo={k: results.get(k) for k in self.meta_keys})
        sample.gt_flow = torch.from_numpy(
            np.ascontiguousarray(results['gt_flow'].transpose(2, 0, 1)))
        return dict(inputs=torch.from_numpy(np.ascontiguousarray(pair)), data_samples=sample)
