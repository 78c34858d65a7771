"""TensorBoard: optional, switched on by a config's visualizer; scalars arrive."""
import glob
import importlib.util
import math
import os.path as osp
import sys

import pytest
from mmengine.config import Config

from mmvid_memory.utils.launch import check_vis_backends

from .test_synthvid_configs_run import ROOT, TINY_SYNTHVID, _run

TENSORBOARD_BACKENDS = "[dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]"


def _cfg(backends):
    return Config(dict(visualizer=dict(type='DetLocalVisualizer', vis_backends=backends)))


def test_a_missing_tensorboard_is_named_before_training(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, 'find_spec',
        lambda name, *a: None if name == 'tensorboard' else real_find_spec(name, *a))
    check_vis_backends(_cfg([dict(type='LocalVisBackend')]))  # not asked for: fine
    with pytest.raises(ImportError, match=r'TensorboardVisBackend.*requirements/optional\.txt'):
        check_vis_backends(_cfg([dict(type='LocalVisBackend'),
                                 dict(type='mmengine.TensorboardVisBackend')]))


def test_tensorboard_is_not_a_required_dependency():
    with open(osp.join(ROOT, 'requirements', 'runtime.txt')) as f:
        assert 'tensorboard' not in f.read()
    with open(osp.join(ROOT, 'requirements', 'optional.txt')) as f:
        assert any(line.startswith('tensorboard') for line in f)


def test_training_scalars_arrive_in_tensorboard(tmp_path):
    pytest.importorskip('tensorboard')
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    root = str(tmp_path / 'synthvid') + '/'
    data = f'dict(data_root={root!r}, synthvid_params={TINY_SYNTHVID!r})'
    config = tmp_path / 'tiny_tb.py'
    config.write_text(
        f"_base_ = {osp.join(ROOT, 'configs/rfcn/rfcn_r18-dc5_1xb8-ft300_synthvid.py')!r}\n"
        'load_from = None\n'
        'train_cfg = dict(max_iters=3, val_interval=100)\n'
        'default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=100))\n'
        f'train_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False, '
        f'dataset={data})\n'
        f'val_dataloader = dict(num_workers=0, persistent_workers=False, dataset={data})\n'
        'test_dataloader = val_dataloader\n'
        f'visualizer = dict(vis_backends={TENSORBOARD_BACKENDS})\n')
    work_dir = str(tmp_path / 'work')
    _run([sys.executable, 'tools/train.py', str(config), '--work-dir', work_dir])
    events, = glob.glob(osp.join(work_dir, '*', 'vis_data', 'events.out.tfevents.*'))
    acc = EventAccumulator(events)
    acc.Reload()
    tags = acc.Tags()['scalars']
    for tag in ('loss', 'lr'):
        assert tag in tags, tags
    losses = acc.Scalars('loss')
    assert [e.step for e in losses] == [1, 2, 3]
    assert all(math.isfinite(e.value) and e.value > 0 for e in losses)
