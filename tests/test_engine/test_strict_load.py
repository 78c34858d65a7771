"""Loading for test, inference and resume is strict by default, with an explicit opt-out."""
import itertools
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.model import BaseModel
from torch.utils.data import Dataset

from mmvid_memory.engine import StrictLoadRunner
from mmvid_memory.utils import CheckpointMismatchError, load_model_checkpoint

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class Wrapper(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.detector = torch.nn.Linear(2, 1)


def test_strict_load_names_missing_and_unexpected_keys(tmp_path):
    inner = tmp_path / 'inner.pth'
    torch.save({'state_dict': torch.nn.Linear(2, 1).state_dict()}, inner)
    model = Wrapper()
    with pytest.raises(CheckpointMismatchError) as info:
        load_model_checkpoint(model, str(inner))
    message = str(info.value)
    assert 'inner.pth' in message
    assert '2 missing key(s)' in message and 'detector.weight' in message
    assert '2 unexpected key(s)' in message and 'bias' in message
    assert "lack the prefix 'detector.'" in message
    assert '--allow-partial-load' in message
    before = model.detector.weight.detach().clone()
    load_model_checkpoint(model, str(inner), strict=False)  # the explicit opt-out
    assert torch.equal(model.detector.weight, before)  # nothing fitted
    wide = tmp_path / 'wide.pth'
    torch.save({'state_dict': {'detector.weight': torch.zeros(3, 2),
                               'detector.bias': torch.zeros(3)}}, wide)
    with pytest.raises(CheckpointMismatchError, match=r'2 key\(s\) of another shape'):
        load_model_checkpoint(model, str(wide))


def test_single_frame_checkpoint_on_a_memory_config_is_refused():
    """The shipped R-FCN checkpoint given to the OGEM config: every key lacks
    ``detector.``; mmengine's default loaded nothing and tested an mAP of 0."""
    from mmvid_memory.apis import init_detector
    config = osp.join(ROOT, 'configs/ogem/ogem-pix-inst_rfcn_r18-dc5_synthvid.py')
    shipped = osp.join(ROOT, 'checkpoints/rfcn_r18-dc5_1xb4-12e_synthvid-ffeba89b.pth')
    options = dict(model=dict(detector=dict(init_cfg=None)))
    with pytest.raises(CheckpointMismatchError) as info:
        init_detector(config, shipped, cfg_options=options)
    message = str(info.value)
    assert 'missing key(s)' in message and 'detector.backbone.' in message
    assert 'unexpected key(s)' in message and "lack the prefix 'detector.'" in message
    model = init_detector(config, shipped, cfg_options=options, strict=False)  # the opt-out
    assert model.dataset_meta['classes']


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


class MeanPrediction(BaseMetric):

    def process(self, data_batch, data_samples):
        self.results.extend(float(p) for p in data_samples)

    def compute_metrics(self, results):
        return dict(mean=sum(results) / len(results))


_NAMES = itertools.count()


def make_runner(work_dir, load_from=None, resume=False, strict_load=None, max_iters=2):
    loader = dict(dataset=ToyData(), sampler=dict(type='DefaultSampler', shuffle=False),
                  batch_size=4, num_workers=0)
    cfg = {} if strict_load is None else dict(strict_load=strict_load)
    return StrictLoadRunner(
        model=ToyRegressor(), work_dir=work_dir, train_dataloader=loader,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters, val_interval=1000),
        test_dataloader=loader, test_cfg=dict(), test_evaluator=Evaluator(MeanPrediction()),
        default_hooks=dict(checkpoint=dict(type='AtomicCheckpointHook', interval=2,
                                           by_epoch=False)),
        load_from=load_from, resume=resume, default_scope='mmdet', cfg=cfg,
        experiment_name=f'strict_{next(_NAMES)}')


@pytest.fixture
def checkpoints(tmp_path):
    """A checkpoint of the toy model and one of a model that wraps it."""
    work_dir = str(tmp_path / 'work')
    make_runner(work_dir).train()
    good = osp.join(work_dir, 'iter_2.pth')
    checkpoint = torch.load(good, map_location='cpu', weights_only=False)  # written here
    checkpoint['state_dict'] = {f'detector.{k}': v for k, v in checkpoint['state_dict'].items()}
    wrapped = str(tmp_path / 'wrapped.pth')
    torch.save(checkpoint, wrapped)
    return good, wrapped


def test_runner_tests_and_resumes_strictly(tmp_path, checkpoints):
    good, wrapped = checkpoints
    assert 'mean' in make_runner(str(tmp_path / 't1'), load_from=good).test()
    with pytest.raises(CheckpointMismatchError) as info:
        make_runner(str(tmp_path / 't2'), load_from=wrapped).test()
    assert "missing key(s) (in the model, not in the checkpoint): linear.weight" in \
        str(info.value)
    assert "extra prefix 'detector.'" in str(info.value)
    with pytest.raises(CheckpointMismatchError, match='wrapped.pth'):
        make_runner(str(tmp_path / 't3'), load_from=wrapped, resume=True, max_iters=4).train()


def test_partial_load_is_an_explicit_opt_out(tmp_path, checkpoints):
    _, wrapped = checkpoints
    assert 'mean' in make_runner(str(tmp_path / 't'), load_from=wrapped,
                                 strict_load=False).test()
    runner = make_runner(str(tmp_path / 'r'), load_from=wrapped, resume=True, max_iters=4,
                         strict_load=False)
    runner.train()
    assert runner.iter == 4
    # Fine-tuning from load_from (no resume) is partial anyway: new heads are expected.
    make_runner(str(tmp_path / 'f'), load_from=wrapped).train()


@pytest.mark.parametrize('tool, argv', [
    ('test', ['CONFIG', 'ckpt.pth']),
    ('train', ['CONFIG', '--resume', 'ckpt.pth']),
])
def test_tools_are_strict_unless_told(tool, argv):
    import importlib.util
    spec = importlib.util.spec_from_file_location(f'{tool}_tool', osp.join(ROOT, 'tools',
                                                                           f'{tool}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = osp.join(ROOT, 'configs/rfcn/rfcn_r18-dc5_1xb4-4e_synthvid.py')
    argv = [config if a == 'CONFIG' else a for a in argv]
    cfg = module.build_cfg(module.parse_args(argv))
    assert cfg.runner_type == 'StrictLoadRunner' and cfg.strict_load is True
    cfg = module.build_cfg(module.parse_args(argv + ['--allow-partial-load']))
    assert cfg.strict_load is False
    # The tools build a config naming runner_type with mmengine's root registry.
    from mmengine.registry import RUNNERS, DefaultScope
    assert DefaultScope.get_current_instance().scope_name == 'mmdet'
    with DefaultScope.overwrite_default_scope(None):
        assert RUNNERS.get(cfg.runner_type) is StrictLoadRunner
