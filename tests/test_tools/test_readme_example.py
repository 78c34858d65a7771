"""The README's Faster R-CNN example trains and tests as written, from a folder
outside the repository (on a tiny SynthVID, for 2 iterations)."""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = dict(train_videos=2, val_videos=2, frames=5, size=96, seed=5)


def readme_example(marker: str) -> str:
    with open(osp.join(ROOT, 'README.md')) as f:
        text = f.read()
    match = re.search(rf'<!-- example: {marker} -->\n```python\n(.*?)```', text, re.S)
    assert match, f'README.md has no example {marker!r}'
    return match.group(1)


def _run(cmd, cwd):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=900)
    assert proc.returncode == 0, f'{" ".join(cmd)} failed:\n{proc.stdout[-4000:]}'
    return proc.stdout


@pytest.mark.slow
def test_readme_faster_rcnn_example_trains_and_tests_as_written(tmp_path):
    (tmp_path / 'my_faster_rcnn_ogem.py').write_text(readme_example('faster-rcnn-ogem'))
    data = f"dict(data_root='synthvid/', synthvid_params={TINY!r})"
    (tmp_path / 'tiny.py').write_text(
        "_base_ = ['./my_faster_rcnn_ogem.py']\n"
        'train_cfg = dict(max_iters=2, val_interval=2)\n'
        'default_hooks = dict(checkpoint=dict(interval=2))\n'
        f'train_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False, '
        f'dataset={data})\n'
        f'val_dataloader = dict(num_workers=0, persistent_workers=False, dataset={data})\n'
        'test_dataloader = val_dataloader\n')
    offline = ['--cfg-options', 'model.detector.backbone.init_cfg=None']
    _run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), 'tiny.py', '--work-dir', 'work',
          *offline], cwd=str(tmp_path))
    with open(tmp_path / 'work' / 'last_checkpoint') as f:
        checkpoint = f.read().strip()
    _run([sys.executable, osp.join(ROOT, 'tools', 'test.py'), 'tiny.py', checkpoint,
          '--work-dir', 'work', '--metrics-out', 'metrics.json', *offline], cwd=str(tmp_path))
    with open(tmp_path / 'metrics.json') as f:
        metrics = json.load(f)
    assert 'vid/mAP' in metrics and 'vid/mAP_fast' in metrics
