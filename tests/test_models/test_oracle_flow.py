"""SynthVIDOracleFlow: the generator's exact field on a feature grid, and its plumbing."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

import mmvid_memory  # noqa: F401
from mmvid_memory.datasets.synthvid import ensure_synthvid, frame_flow
from mmvid_memory.datasets.synthvid.generator import _video_config
from mmvid_memory.datasets.synthvid.video import sample_scene
from mmvid_memory.models.flownets import SynthVIDOracleFlow, ZeroFlow, flow_net_field

TINY = dict(train_videos=1, val_videos=2, frames=8, size=96, seed=4)
ORACLE_CONFIG = 'configs/clocknet/clocknet_rfcn_r18-dc5_synthvid_oracle-flow.py'


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('oracle') / 'synthvid')
    ensure_synthvid(out, workers=1, progress=False, **TINY)
    return out


def test_oracle_is_the_pooled_exact_field(root):
    oracle = SynthVIDOracleFlow(data_root=root, split='val', feature_stride=16).eval()
    img = torch.zeros(1, 3, 96, 96)
    with open(osp.join(root, 'annotations', 'synthvid_val.json')) as f:
        video = json.load(f)['videos'][1]
    field = oracle(img, img, out_size=(6, 6), frames=(video['id'], 5, 1))
    with open(osp.join(root, 'synthvid_params.json')) as f:
        params = json.load(f)['params']
    scene = sample_scene(params['seed'], 1, 1, _video_config(params))
    exact = frame_flow(scene, 5, 1).reshape(6, 16, 6, 16, 2).mean(axis=(1, 3)) / 16
    np.testing.assert_allclose(field[0].permute(1, 2, 0).numpy(), exact, atol=1e-5)
    assert field.abs().max() > 0.01
    # In training mode the fields are those of the training split's video.
    train_scene = sample_scene(params['seed'], 0, 0, _video_config(params))
    np.testing.assert_allclose(
        oracle.train()(img, img, out_size=(6, 6), frames=(1, 5, 1))[0].permute(1, 2, 0).numpy(),
        frame_flow(train_scene, 5, 1).reshape(6, 16, 6, 16, 2).mean(axis=(1, 3)) / 16, atol=1e-5)
    oracle.eval()
    # Default grid: ceil(H / feature_stride).
    assert oracle(img, img, frames=(video['id'], 5, 1)).shape == (1, 2, 6, 6)
    # A frame resized to 192 px: twice the feature cells, twice the cell displacement.
    big = torch.zeros(1, 3, 192, 192)
    exact12 = frame_flow(scene, 5, 1).reshape(12, 8, 12, 8, 2).mean(axis=(1, 3)) / 8
    np.testing.assert_allclose(oracle(big, big, out_size=(12, 12), frames=(video['id'], 5, 1))[0]
                               .permute(1, 2, 0).numpy(), exact12, atol=1e-5)


def test_oracle_errors(root, tmp_path):
    oracle = SynthVIDOracleFlow(data_root=root).eval()
    img = torch.zeros(1, 3, 96, 96)
    with pytest.raises(ValueError, match='needs frames'):
        oracle(img, img)
    with pytest.raises(KeyError, match='video_id 99'):
        oracle(img, img, frames=(99, 1, 0))
    with pytest.raises(ValueError, match='padded or stretched'):
        oracle(torch.zeros(1, 3, 64, 96), torch.zeros(1, 3, 64, 96), frames=(1, 1, 0))
    with pytest.raises(FileNotFoundError, match='must be a generated SynthVID'):
        SynthVIDOracleFlow(data_root=str(tmp_path))(img, img, frames=(1, 1, 0))
    with pytest.raises(ValueError, match="split must be 'train' or 'val'"):
        SynthVIDOracleFlow(split='test')
    with pytest.raises(ValueError, match="train_split must be 'train' or 'val'"):
        SynthVIDOracleFlow(train_split='x')


def test_flow_net_field_passes_frames_only_when_asked(root):
    img = torch.zeros(1, 3, 96, 96)
    assert torch.equal(flow_net_field(ZeroFlow(), img, img, (6, 6), frames=(1, 2, 0)),
                       torch.zeros(1, 2, 6, 6))
    oracle = SynthVIDOracleFlow(data_root=root).eval()
    assert torch.equal(flow_net_field(oracle, img, img, (6, 6), frames=(1, 2, 0)),
                       oracle(img, img, out_size=(6, 6), frames=(1, 2, 0)))


REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tiny_oracle_config(tmp_path, root: str, body: str) -> str:
    """The oracle ClockNet config on the tiny SynthVID at ``root``, plus ``body``."""
    data = f'dict(data_root={root + "/"!r}, synthvid_params={TINY!r})'
    config = tmp_path / 'tiny_oracle.py'
    config.write_text(
        f'_base_ = {osp.join(REPO, ORACLE_CONFIG)!r}\n'
        'model = dict(detector=dict(init_cfg=None), pixel_memory=dict(flow_net=dict('
        f'data_root={root + "/"!r})))\n' + body.replace('DATA', data))
    return str(config)


def _run_tool(args):
    import os
    import subprocess
    import sys
    proc = subprocess.run([sys.executable] + args, cwd=REPO,
                          env=dict(os.environ, OMP_NUM_THREADS='1'), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize('options', [[], ['model.test_cfg.box_propagation.delta=2',
                                          'test_evaluator.frames_since_evidence=2']],
                         ids=['clocknet', 'box-propagation'])
def test_oracle_config_through_tools_test(root, tmp_path, options):
    """The ClockNet oracle config tests with tools/test.py: the fields of the
    memory reads and of box propagation both come from the oracle."""
    config = _tiny_oracle_config(
        tmp_path, root, 'test_dataloader = dict(num_workers=0, persistent_workers=False, '
        'dataset=DATA)\ntest_evaluator = dict(type="VIDMetric")\n')
    out = str(tmp_path / 'm.json')
    _run_tool(['tools/test.py', config, '--work-dir', str(tmp_path / 'w'), '--metrics-out', out,
               '--cfg-options', 'test_dataloader.dataset.test_mode=True'] + options)
    with open(out) as f:
        assert 0.0 <= json.load(f)['vid/mAP'] <= 1.0


@pytest.mark.slow
def test_oracle_config_trains(root, tmp_path):
    """Two iterations of tools/train.py with the oracle (training split fields, no flips)."""
    config = _tiny_oracle_config(
        tmp_path, root, 'train_cfg = dict(max_iters=2, val_interval=2)\n'
        'default_hooks = dict(checkpoint=dict(interval=2))\n'
        'train_dataloader = dict(num_workers=0, persistent_workers=False, dataset=DATA)\n'
        'val_cfg = None\nval_dataloader = None\nval_evaluator = None\n')
    _run_tool(['tools/train.py', config, '--work-dir', str(tmp_path / 'w')])
    assert osp.isfile(str(tmp_path / 'w' / 'iter_2.pth'))
