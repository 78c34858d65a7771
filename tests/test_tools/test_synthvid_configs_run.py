"""Every SynthVID config of `make demo` trains and tests through tools/train.py and
tools/test.py on a tiny SynthVID (96 px, a few short videos)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_SYNTHVID = dict(train_videos=2, val_videos=2, frames=6, size=96, seed=5)
CONFIGS = [
    'configs/rfcn/rfcn_r18-dc5_1xb4-4e_synthvid.py',
    'configs/rfcn/rfcn_r18-dc5_1xb8-ft300_synthvid.py',
    'configs/ogem/ogem-pix-inst_rfcn_r18-dc5_synthvid.py',
    'configs/memnet/memnet-mean_rfcn_r18-dc5_synthvid.py',
    'configs/memnet/memnet-weighted_rfcn_r18-dc5_synthvid.py',
    'configs/clocknet/clocknet_rfcn_r18-dc5_synthvid.py',
    'configs/ogem/ogem-pix_rtmdet-tiny_1xb2-3k_synthvid.py',  # a one-stage detector
]


def _tiny_config(folder: str, config: str) -> str:
    root = osp.join(folder, 'synthvid') + '/'
    data = f'dict(data_root={root!r}, synthvid_params={TINY_SYNTHVID!r})'
    is_epoch_based = 'rfcn_r18-dc5_1xb4-4e' in config
    loop = ('train_cfg = dict(max_epochs=1, val_interval=1)\n' if is_epoch_based else
            'train_cfg = dict(max_iters=2, val_interval=2)\n'
            'default_hooks = dict(checkpoint=dict(interval=2))\n')
    text = (f'_base_ = {osp.join(ROOT, config)!r}\n'
            'load_from = None\n'
            + ('' if 'rfcn/' in config else 'model = dict(detector=dict(init_cfg=None))\n')
            + loop
            + f'train_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False, '
              f'dataset={data})\n'
            f'val_dataloader = dict(num_workers=0, persistent_workers=False, dataset={data})\n'
            'test_dataloader = val_dataloader\n')
    path = osp.join(folder, 'tiny_' + osp.basename(config))
    with open(path, 'w') as f:
        f.write(text)
    return path


def _not_json(token):
    raise ValueError(f'{token} is not JSON')


def _run(cmd):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)
    assert proc.returncode == 0, f'{" ".join(cmd)} failed:\n{proc.stdout[-4000:]}'
    return proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize('config', CONFIGS, ids=[osp.basename(c)[:-3] for c in CONFIGS])
def test_config_trains_and_tests(tmp_path, config):
    tiny = _tiny_config(str(tmp_path), config)
    work_dir = str(tmp_path / 'work')
    _run([sys.executable, 'tools/train.py', tiny, '--work-dir', work_dir])
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    metrics_file = str(tmp_path / 'metrics.json')
    _run([sys.executable, 'tools/test.py', tiny, ckpt, '--work-dir', work_dir,
          '--metrics-out', metrics_file])
    with open(metrics_file) as f:  # valid JSON: no bare NaN token
        metrics = json.load(f, parse_constant=_not_json)
    for key in ('vid/mAP', 'vid/mAP_slow', 'vid/mAP_medium', 'vid/mAP_fast'):
        assert key in metrics
    assert 0.0 <= metrics['vid/mAP'] <= 1.0
