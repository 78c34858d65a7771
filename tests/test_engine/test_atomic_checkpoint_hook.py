"""A crash during a checkpoint save never loses the last checkpoint."""
import glob
import itertools
import os
import os.path as osp
import signal
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.fileio.backends import LocalBackend
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from mmvid_memory.engine import AtomicCheckpointHook
from mmvid_memory.utils import load_checkpoint_file

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class ToyRegressor(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        inputs = torch.stack(inputs) if isinstance(inputs, list) else inputs
        pred = self.linear(inputs)
        if mode == 'loss':
            target = torch.stack(data_samples) if isinstance(data_samples, list) else data_samples
            return dict(loss=((pred - target) ** 2).mean())
        return list(pred)


class ToyData(Dataset):

    def __init__(self):
        self.x = torch.randn(8, 2, generator=torch.Generator().manual_seed(0))

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return dict(inputs=self.x[idx], data_samples=self.x[idx].sum(0, keepdim=True))


class RisingScore(BaseMetric):
    """A score that improves at every validation: each one saves a new best."""

    calls = 0

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        RisingScore.calls += 1
        return dict(score=float(RisingScore.calls))


_RUNNERS = itertools.count()


def make_runner(work_dir, max_iters, resume, save_best=False, validate=False):
    checkpoint = dict(type='AtomicCheckpointHook', interval=2, by_epoch=False, max_keep_ckpts=1)
    extra = {}
    if save_best:
        checkpoint.update(save_best='score', rule='greater')
    if save_best or validate:
        extra = dict(val_dataloader=dict(dataset=ToyData(), sampler=dict(type='DefaultSampler',
                                                                         shuffle=False),
                                         batch_size=4, num_workers=0),
                     val_cfg=dict(), val_evaluator=Evaluator(RisingScore()))
    return Runner(
        model=ToyRegressor(), work_dir=work_dir,
        train_dataloader=dict(dataset=ToyData(), sampler=dict(type='DefaultSampler', shuffle=True),
                              batch_size=4, num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters, val_interval=2),
        default_hooks=dict(checkpoint=checkpoint, logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=0), resume=resume, default_scope='mmdet',
        # mmengine keeps one message hub / visualizer per experiment name.
        experiment_name=f'atomic_{next(_RUNNERS)}', **extra)


def last_checkpoint(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read()


def temp_files(work_dir):
    return glob.glob(osp.join(work_dir, '.*.tmp-*'))


def half_then_fail(put):
    """``LocalBackend.put`` that writes half a checkpoint, then dies, when saving iter 4."""

    def put_half(self, obj, filepath):
        if 'iter_4' in osp.basename(str(filepath)) or '.iter_4' in str(filepath):
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
            raise OSError('disk full (simulated) while saving')
        return put(self, obj, filepath)

    return put_half


def test_registered_and_used_by_every_config():
    from mmdet.registry import HOOKS
    from mmengine.registry import HOOKS as ROOT_HOOKS
    assert HOOKS.get('AtomicCheckpointHook') is AtomicCheckpointHook
    assert ROOT_HOOKS.get('AtomicCheckpointHook') is AtomicCheckpointHook  # any scope
    from mmengine.config import Config
    configs = [c for c in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
               if '_base_' not in c]
    assert len(configs) > 20
    for path in configs:
        cfg = Config.fromfile(path)
        assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook', path
        assert cfg.runner_type == 'StrictLoadRunner', path


def test_launch_swaps_a_plain_checkpoint_hook():
    from mmengine.config import Config

    from mmvid_memory.utils.launch import use_atomic_checkpoint_hook
    cfg = Config(dict(default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=3))))
    assert use_atomic_checkpoint_hook(cfg)
    assert cfg.default_hooks.checkpoint == dict(type='AtomicCheckpointHook', interval=3)


def test_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    work_dir = str(tmp_path)
    make_runner(work_dir, max_iters=2, resume=False).train()
    iter2 = osp.join(work_dir, 'iter_2.pth')
    assert last_checkpoint(work_dir) == iter2
    monkeypatch.setattr(LocalBackend, 'put', half_then_fail(LocalBackend.put))
    with pytest.raises(OSError, match='simulated'):
        make_runner(work_dir, max_iters=4, resume=True).train()
    # max_keep_ckpts=1: mmengine's hook had removed iter_2.pth before writing iter_4.pth.
    assert load_checkpoint_file(iter2)['meta']['iter'] == 2
    assert last_checkpoint(work_dir) == iter2
    assert not osp.exists(osp.join(work_dir, 'iter_4.pth'))
    assert temp_files(work_dir) == []
    monkeypatch.undo()
    resumed = make_runner(work_dir, max_iters=4, resume=True)
    resumed.train()
    assert resumed.iter == 4
    assert last_checkpoint(work_dir) == osp.join(work_dir, 'iter_4.pth')
    assert not osp.exists(iter2)  # removed once the new one was whole


def test_validation_without_save_best(tmp_path):
    """The hook runs after every validation; without save_best it saves no best."""
    make_runner(str(tmp_path), max_iters=4, resume=False, validate=True).train()
    assert last_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_4.pth')
    assert not glob.glob(str(tmp_path / 'best_*'))


def test_failed_best_save_keeps_the_previous_best(tmp_path, monkeypatch):
    work_dir = str(tmp_path)
    make_runner(work_dir, max_iters=2, resume=False, save_best=True).train()
    best2 = osp.join(work_dir, 'best_score_iter_2.pth')
    assert osp.isfile(best2)
    monkeypatch.setattr(LocalBackend, 'put', half_then_fail(LocalBackend.put))
    with pytest.raises(OSError, match='simulated'):
        make_runner(work_dir, max_iters=4, resume=True, save_best=True).train()
    assert load_checkpoint_file(best2)['meta']['iter'] == 2
    assert not osp.exists(osp.join(work_dir, 'best_score_iter_4.pth'))
    monkeypatch.undo()
    make_runner(work_dir, max_iters=4, resume=True, save_best=True).train()
    assert osp.isfile(osp.join(work_dir, 'best_score_iter_4.pth'))
    assert not osp.exists(best2)


KILLED_CHILD = textwrap.dedent('''
    import os, signal, sys
    sys.path.insert(0, sys.argv[2])
    from mmengine.fileio.backends import LocalBackend
    from tests.test_engine.test_atomic_checkpoint_hook import make_runner
    put = LocalBackend.put

    def put_half_then_die(self, obj, filepath):
        if 'iter_4' in str(filepath):
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
                f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return put(self, obj, filepath)

    make_runner(sys.argv[1], max_iters=2, resume=False).train()
    LocalBackend.put = put_half_then_die
    make_runner(sys.argv[1], max_iters=4, resume=True).train()
''')


def test_kill_during_save_keeps_the_previous_checkpoint(tmp_path):
    work_dir = str(tmp_path / 'work')
    proc = subprocess.run([sys.executable, '-c', KILLED_CHILD, work_dir, ROOT], cwd=ROOT,
                          env=dict(os.environ, OMP_NUM_THREADS='1'), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stdout[-3000:]
    iter2 = osp.join(work_dir, 'iter_2.pth')
    assert last_checkpoint(work_dir) == iter2
    assert load_checkpoint_file(iter2)['meta']['iter'] == 2
    assert not osp.exists(osp.join(work_dir, 'iter_4.pth'))
    assert len(temp_files(work_dir)) == 1  # the killed writer's half file
    resumed = make_runner(work_dir, max_iters=4, resume=True)
    resumed.train()
    assert resumed.iter == 4
    assert temp_files(work_dir) == []  # the next save removed it
    assert load_checkpoint_file(osp.join(work_dir, 'iter_4.pth'))['meta']['iter'] == 4
