"""Detections and ground truth as plain numpy arrays, whatever they came as."""
from typing import Any, Tuple

import numpy as np


def _numpy(value: Any) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def as_boxes(result: Any, what: str = 'result') -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(bboxes (N, 4) float, scores (N,) float, labels (N,) int)``.

    Args:
        result: a ``DetDataSample`` (its ``pred_instances``), an
            ``InstanceData`` or a dict with ``bboxes``, ``labels`` and
            optionally ``scores`` (tensors or arrays); None is no box.
            Ground truth without scores gets score 1.
        what (str): named in errors.
    """
    if result is None:
        return np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=np.int64)
    if hasattr(result, 'pred_instances') and not isinstance(result, dict):
        result = result.pred_instances
    get = result.get if isinstance(result, dict) else (lambda k, d=None: getattr(result, k, d))
    bboxes = get('bboxes')
    labels = get('labels')
    if bboxes is None or labels is None:
        raise KeyError(f'{what} needs bboxes and labels (a DetDataSample, InstanceData or '
                       f'dict), got {type(result).__name__}')
    bboxes = _numpy(bboxes).astype(np.float64).reshape(-1, 4) if len(bboxes) else np.zeros((0, 4))
    labels = _numpy(labels).astype(np.int64).reshape(-1)
    scores = get('scores')
    scores = (np.ones(len(bboxes)) if scores is None else
              _numpy(scores).astype(np.float64).reshape(-1))
    if not len(bboxes) == len(labels) == len(scores):
        raise ValueError(f'{what}: {len(bboxes)} boxes, {len(labels)} labels and {len(scores)} '
                         'scores differ')
    return bboxes, scores, labels
