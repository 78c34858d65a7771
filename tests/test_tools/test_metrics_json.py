"""--metrics-out files are valid JSON: NaN and infinities become null."""
import json
import math

import numpy as np
import pytest
import torch

from mmvid_memory.utils.metrics_json import json_safe, write_metrics_json


def strict_json(text):
    """json.loads that refuses the NaN/Infinity tokens Python's json accepts."""
    def refuse(token):
        raise ValueError(f'not JSON: {token}')
    return json.loads(text, parse_constant=refuse)


def test_non_finite_metrics_become_null(tmp_path):
    metrics = {'vid/mAP': 0.5, 'vid/mAP_fast': float('nan'), 'inf': float('inf'),
               'np': np.float64(0.25), 'np_nan': np.float32('nan'), 'count': np.int64(3),
               'tensor': torch.tensor(1.5), 'flag': True, 'name': 'x',
               'per_class': [0.1, float('nan')], 'nested': {'a': -math.inf}}
    path = tmp_path / 'out' / 'metrics.json'
    write_metrics_json(metrics, str(path))
    loaded = strict_json(path.read_text())
    assert loaded == {'vid/mAP': 0.5, 'vid/mAP_fast': None, 'inf': None, 'np': 0.25,
                      'np_nan': None, 'count': 3, 'tensor': 1.5, 'flag': True, 'name': 'x',
                      'per_class': [0.1, None], 'nested': {'a': None}}
    assert [p.name for p in (tmp_path / 'out').iterdir()] == ['metrics.json']


def test_json_safe_keeps_other_values_readable():
    assert json_safe(object).startswith("<class 'object'>")
    assert json_safe(None) is None
    with pytest.raises(ValueError):
        strict_json('{"a": NaN}')  # what json.dump wrote before
