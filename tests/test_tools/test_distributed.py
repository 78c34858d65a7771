"""tools/dist_train.sh and tools/dist_test.sh with 2 processes on the CPU (gloo).

The 2-process test must give the same VID metric as the 1-process one: the
video-level sharding keeps every video, in order, on one rank, and the memory
of one video never meets another's.
"""
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'ogem', 'ogem-pix-inst_rfcn_r18-dc5_synthvid.py')

# Small frames keep two ranks on two cores inside the test budget; the classes
# and the model are those of the SynthVID configs.
TINY_SYNTHVID = dict(train_videos=2, val_videos=3, frames=5, size=96, seed=3)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _write_config(folder: str) -> str:
    root = osp.join(folder, 'synthvid') + '/'
    data = f'dict(data_root={root!r}, synthvid_params={TINY_SYNTHVID!r})'
    text = f"""_base_ = {CONFIG!r}
model = dict(detector=dict(init_cfg=None))
train_cfg = dict(max_iters=2, val_interval=100)
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=2))
train_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,
                        dataset={data})
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset={data})
test_dataloader = val_dataloader
randomness = dict(seed=0)
"""
    path = osp.join(folder, 'tiny_ogem_synthvid.py')
    with open(path, 'w') as f:
        f.write(text)
    return path


def _run(cmd, env_extra=None):
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(_free_port()), OMP_NUM_THREADS='1',
               **(env_extra or {}))
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)
    assert proc.returncode == 0, f'{" ".join(cmd)} failed:\n{proc.stdout[-4000:]}'
    return proc.stdout


@pytest.mark.slow
def test_two_process_train_and_test_match_one_process(tmp_path):
    config = _write_config(str(tmp_path))
    work_dir = str(tmp_path / 'work')

    log = _run(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', work_dir])
    assert 'Distributed training: True' in log and 'GPU number: 2' in log, log[-3000:]
    ckpt = osp.join(work_dir, 'iter_2.pth')
    assert osp.isfile(ckpt), f'no checkpoint after distributed training; log:\n{log[-3000:]}'

    two = str(tmp_path / 'two.json')
    one = str(tmp_path / 'one.json')
    _run(['bash', 'tools/dist_test.sh', config, ckpt, '2', '--work-dir', work_dir,
          '--metrics-out', two])
    _run([sys.executable, 'tools/test.py', config, ckpt, '--work-dir', work_dir,
          '--metrics-out', one])
    with open(one) as f:
        single = json.load(f)
    with open(two) as f:
        double = json.load(f)
    assert set(single) == set(double)
    assert any(key.startswith('vid/mAP') for key in single)
    # Untrained, but not empty: some of its many boxes hit the objects.
    assert single['vid/mAP'] > 0, single
    for key, value in single.items():
        assert double[key] == pytest.approx(value, abs=1e-9, nan_ok=True), key


def test_close_process_group_destroys_the_group():
    """tools/train.py and tools/test.py end with close_process_group(): a gloo group
    left to interpreter exit can abort a rank after its work is done (SIGABRT)."""
    code = ('import torch.distributed as dist\n'
            'from mmvid_memory.utils import close_process_group\n'
            'close_process_group()  # no group: nothing to do\n'
            f'dist.init_process_group("gloo", init_method="tcp://127.0.0.1:{_free_port()}", '
            'rank=0, world_size=1)\n'
            'assert dist.is_initialized()\n'
            'close_process_group()\n'
            'assert not dist.is_initialized()\n'
            'print("closed")\n')
    proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=120)
    assert proc.returncode == 0 and 'closed' in proc.stdout, proc.stdout[-2000:]
