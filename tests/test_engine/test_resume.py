"""Resume under torch's weights_only loading, with the checked, scoped allow-list."""
import itertools
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import mmvid_memory  # noqa: F401  (registers the checked loader)
from mmvid_memory.utils import load_checkpoint_file


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
        return pred


class ToyData(Dataset):

    def __init__(self):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(16, 2, generator=gen)
        self.y = self.x.sum(1, keepdim=True)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return dict(inputs=self.x[idx], data_samples=self.y[idx])


_NAMES = itertools.count()


def make_runner(work_dir, max_iters, resume):
    return Runner(
        model=ToyRegressor(),
        work_dir=work_dir,
        train_dataloader=dict(dataset=ToyData(), sampler=dict(type='DefaultSampler', shuffle=True),
                              batch_size=4, num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', milestones=[3], by_epoch=False),
        train_cfg=dict(by_epoch=False, max_iters=max_iters, val_interval=1000),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False),
                           logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=0),
        resume=resume,
        # mmengine keeps one logger / visualizer per experiment name and process.
        experiment_name=f'resume_{max_iters}_{resume}_{next(_NAMES)}')


def test_resume_continues_training(tmp_path):
    work_dir = str(tmp_path)
    runner = make_runner(work_dir, max_iters=2, resume=False)
    runner.train()
    ckpt = osp.join(work_dir, 'iter_2.pth')
    assert osp.exists(ckpt)
    saved_weight = runner.model.linear.weight.detach().clone()

    # What the runner saved carries numpy values and HistoryBuffers, which the
    # default weights_only load refuses; the package's loader admits them.
    raw = load_checkpoint_file(ckpt)
    assert raw['meta']['iter'] == 2
    assert 'message_hub' in raw

    resumed = make_runner(work_dir, max_iters=4, resume=True)
    resumed.train()
    assert resumed.iter == 4
    assert osp.exists(osp.join(work_dir, 'iter_4.pth'))
    # It resumed (started from the saved weights and moved on), not restarted.
    ckpt4 = load_checkpoint_file(osp.join(work_dir, 'iter_4.pth'))
    assert not torch.equal(ckpt4['state_dict']['linear.weight'], saved_weight)
    assert ckpt4['meta']['iter'] == 4


class NotAllowed:

    def __init__(self):
        self.payload = np.arange(3)


def test_allow_list_stays_narrow(tmp_path):
    """A checkpoint naming any other class is still refused."""
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': NotAllowed()}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
