"""Metrics as valid JSON: ``NaN`` and infinities become ``null``.

``json.dump`` writes a float NaN as the bare token ``NaN``, which is not JSON
(strict parsers and ``jq`` reject the file). A metric can be NaN (e.g. an AP
of a class without ground truth), so metric files go through
:func:`json_safe`.
"""
import json
import math
from numbers import Number
from typing import Any, Mapping

import numpy as np
import torch

from .atomic import atomic_output


def json_safe(value: Any) -> Any:
    """``value`` with numbers as float/int (non-finite -> None), containers
    walked, anything else as ``str``.

    Args:
        value: A metric value or a (nested) dict/list of them; numpy scalars
            and one-element tensors count as numbers.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.size == 1) or (
            isinstance(value, torch.Tensor) and value.numel() == 1):
        value = value.item()
    if isinstance(value, (bool, int)):
        return value
    if isinstance(value, Number):
        number = float(value)
        return number if math.isfinite(number) else None
    return str(value)


def write_metrics_json(metrics: Mapping[str, Any], path: str) -> None:
    """Write ``metrics`` to ``path`` as valid JSON (see :func:`json_safe`), atomically."""
    text = json.dumps(json_safe(metrics), indent=2, allow_nan=False)
    with atomic_output(path, 'w') as f:
        f.write(text + '\n')
