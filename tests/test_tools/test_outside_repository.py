"""The package used as an mmdet user would: from a folder outside the source tree,
with `mmvid_memory::` configs, the shipped checkpoints and tools/test.py."""
import glob
import os
import os.path as osp
import subprocess
import sys
import textwrap

from mmvid_memory.apis.video_io import count_video_frames

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = dict(train_videos=2, val_videos=2, frames=4, size=96, seed=5)
BASELINE = 'checkpoints/rfcn_r18-dc5_1xb4-12e_synthvid-ffeba89b.pth'

USER_CONFIG = f"""
_base_ = ['mmvid_memory::ogem/ogem-pix-inst_rfcn_r18-dc5_synthvid.py']
tiny = {TINY!r}
train_dataloader = dict(dataset=dict(data_root='train_data/', synthvid_params=tiny))
test_dataloader = dict(num_workers=0, persistent_workers=False,
                       dataset=dict(data_root='val_data/', synthvid_params=tiny))
val_dataloader = test_dataloader
"""

BUILD_AND_PREDICT = f"""
import numpy as np
import torch
from mmengine.config import Config
from mmengine.hub import get_model
from mmengine.registry import MODELS

import mmvid_memory
from mmvid_memory.apis import init_detector, open_stream
from mmvid_memory.utils.checkpoint import load_checkpoint_file

assert not mmvid_memory.__file__.startswith(__import__('os').getcwd())
cfg = Config.fromfile('my_ogem.py')
assert cfg.model['_scope_'] == 'mmvid_memory'
# mmengine's root registry, through the config's own scope (mmvid_memory)
model = MODELS.build(cfg.model)
assert type(model).__name__ == 'MemoryVideoDetector', type(model)
model.init_weights()  # the shipped baseline, found although the cwd has no checkpoints/
shipped = load_checkpoint_file({BASELINE!r})['state_dict']
for key in ('backbone.conv1.weight', 'roi_head.bbox_roi_extractor.conv_cls.weight'):
    assert torch.equal(model.detector.state_dict()[key], shipped[key]), key
hub = get_model('mmvid_memory::rfcn/rfcn_r18-dc5_1xb4-12e_synthvid.py')
assert type(hub).__name__ == 'RFCN', type(hub)
det = init_detector(cfg)
det.load_state_dict(model.state_dict())
rng = np.random.default_rng(0)
rows = []
with open_stream(det) as stream:
    for t in range(3):
        result = stream.push(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8))
        assert len(result.pred_instances.bboxes) > 0
        stats = result.metainfo['memory_stats']
        rows.append((stats['pixel.0.rows'], stats['instance.rows']))
assert all(p > 0 and i > 0 for p, i in rows), rows
print('OK', rows)
"""


def _run(cmd, cwd):
    # The package under test, imported from the source tree but run elsewhere.
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)
    assert proc.returncode == 0, f'{" ".join(cmd)} failed:\n{proc.stdout[-4000:]}'
    return proc.stdout


def test_package_config_builds_initialises_and_predicts_outside_the_repository(tmp_path):
    (tmp_path / 'my_ogem.py').write_text(USER_CONFIG)
    (tmp_path / 'run.py').write_text(textwrap.dedent(BUILD_AND_PREDICT))
    out = _run([sys.executable, 'run.py'], cwd=str(tmp_path))
    assert 'OK' in out


def test_tools_test_on_a_package_config_draws_one_folder_per_video(tmp_path):
    """tools/test.py from another folder: the `mmvid_memory::` config builds, only
    the test split is generated, and --show-dir writes a folder (and, with
    --video-fps, a clip) per video."""
    (tmp_path / 'my_ogem.py').write_text(USER_CONFIG)
    _run([sys.executable, osp.join(ROOT, 'tools', 'test.py'), 'my_ogem.py',
          '--work-dir', 'work', '--show-dir', 'vis', '--video-fps', '5',
          '--metrics-out', 'metrics.json'], cwd=str(tmp_path))
    assert (tmp_path / 'metrics.json').is_file()
    assert (tmp_path / 'val_data').is_dir()
    assert not (tmp_path / 'train_data').exists(), 'a test run generated the training split'
    vis, = glob.glob(str(tmp_path / 'work' / '*' / 'vis'))
    folders = sorted(d for d in os.listdir(vis) if osp.isdir(osp.join(vis, d)))
    assert folders == ['synthvid_val_0000', 'synthvid_val_0001']
    import json
    with open(tmp_path / 'val_data' / 'annotations' / 'synthvid_val.json') as f:
        images = json.load(f)['images']
    drawn = {name: sorted(os.listdir(osp.join(vis, name))) for name in folders}
    assert sum(len(files) for files in drawn.values()) == len(images)
    for name, files in drawn.items():
        assert count_video_frames(osp.join(vis, f'{name}.mp4')) == len(files)
