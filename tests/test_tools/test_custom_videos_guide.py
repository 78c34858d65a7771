"""docs/custom_videos.md's config trains and tests on a tiny CocoVID set laid out
as the guide describes, from a folder outside the repository."""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

from mmvid_memory.datasets.tiny_cocovid import make_tiny_cocovid

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLASSES = ('car', 'person', 'dog')


def guide_config() -> str:
    with open(osp.join(ROOT, 'docs', 'custom_videos.md')) as f:
        text = f.read()
    match = re.search(r'<!-- example: custom-videos -->\n```python\n(.*?)```', text, re.S)
    assert match, 'docs/custom_videos.md has no example config'
    return match.group(1)


def _run(cmd, cwd):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=900)
    assert proc.returncode == 0, f'{" ".join(cmd)} failed:\n{proc.stdout[-4000:]}'
    return proc.stdout


@pytest.mark.slow
def test_guide_config_trains_and_tests_on_own_videos(tmp_path):
    root = str(tmp_path / 'data' / 'my_videos')
    make_tiny_cocovid(root, 'my_train', frames_per_video=(6, 5), classes=CLASSES,
                      image_size=(96, 128), data_subdir='train')
    make_tiny_cocovid(root, 'my_val', frames_per_video=(4, 4), classes=CLASSES,
                      image_size=(96, 128), data_subdir='val', id_offset=1000, seed=1)
    (tmp_path / 'my_config.py').write_text(guide_config())
    (tmp_path / 'tiny.py').write_text(
        "_base_ = ['./my_config.py']\n"
        'train_cfg = dict(max_epochs=1, val_interval=1)\n'
        'train_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False)\n'
        'val_dataloader = dict(num_workers=0, persistent_workers=False)\n'
        'test_dataloader = val_dataloader\n')
    _run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), 'tiny.py', '--work-dir', 'work'],
         cwd=str(tmp_path))
    _run([sys.executable, osp.join(ROOT, 'tools', 'test.py'), 'tiny.py', 'work/epoch_1.pth',
          '--work-dir', 'work', '--metrics-out', 'metrics.json'], cwd=str(tmp_path))
    with open(tmp_path / 'metrics.json') as f:
        metrics = json.load(f)
    assert 'vid/mAP' in metrics and 'vid/mAP_slow' in metrics
