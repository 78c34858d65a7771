"""configs/ogem: the ImageNet VID R-101 and Faster R-CNN configs build and hold Deng et al.'s settings."""
import copy
from pathlib import Path

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import TrackDataSample
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

import mmvid_memory  # noqa: F401

from ._tiny_detectors import make_frame

CONFIG_DIR = Path(__file__).parents[2] / 'configs' / 'ogem'
R101 = 'rfcn_r101-dc5_1xb1-embed60k'
R101_CONFIGS = sorted(p.name for p in CONFIG_DIR.glob(f'ogem-*_{R101}*_imagenetvid*.py'))
FRCNN_VID = 'ogem-pix-inst_faster-rcnn_r50_fpn_1xb1-60k_imagenetvid.py'
FRCNN_SYNTHVID = 'ogem-pix-inst_faster-rcnn_r18-dc5_synthvid.py'


def load(name: str) -> Config:
    return Config.fromfile(str(CONFIG_DIR / name))


def build_without_checkpoints(cfg: Config):
    """The model of a config, its checkpoint loading (init_cfg) removed."""
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.init_cfg = None
    model_cfg.detector.init_cfg = None
    model_cfg.detector.backbone.init_cfg = None
    return MODELS.build(model_cfg)


def test_every_variant_of_the_imagenet_vid_r101_family_is_there():
    expected = {f'ogem-{kind}_{R101}{stage}_imagenetvid.py'
                for kind in ('pix', 'inst', 'pix-inst') for stage in ('', '-e2e10k')}
    expected |= {f'ogem-pix-inst_{R101}-e2e10k_imagenetvid_key5-nonkey1of{k}.py' for k in (2, 3, 4)}
    assert set(R101_CONFIGS) == expected


@pytest.mark.parametrize('name', R101_CONFIGS + [FRCNN_VID])
def test_imagenet_vid_configs_build_with_seed_000_memory_settings(name):
    cfg = load(name)
    assert cfg.train_dataloader.dataset.datasets[0].pipeline[0] == dict(
        type='VideoClipSample', num_frames=4, mode='interval', max_interval=20)
    model = build_without_checkpoints(cfg)
    kind = name.split('_')[0]
    assert (model.pixel_memory is not None) == (kind in ('ogem-pix', 'ogem-pix-inst'))
    assert (model.instance_memory is not None) == (kind in ('ogem-inst', 'ogem-pix-inst'))
    if model.pixel_memory is not None:
        pix = model.pixel_memory
        assert (pix.num_heads, pix.embed_channels, pix.score_thr, pix.sim_thr,
                pix.max_objects_per_class) == (8, 32, 0.9, 0.47, 10)
    if 'rfcn' in name:
        assert type(model.detector).__name__ == 'RFCN'
        assert model.detector.backbone.depth == 101
        assert model.detector.roi_head.bbox_head.num_classes == 30
        if model.pixel_memory is not None:
            assert model.pixel_memory.in_channels == 1024
        if model.instance_memory is not None:  # (30 + 1 + 4) x 7 x 7 pooled maps, 7 heads
            assert (model.instance_memory.in_channels, model.instance_memory.num_heads) == (1715, 7)
    else:
        assert type(model.detector).__name__ == 'FasterRCNN'
        assert model.pixel_levels == (2, 3, 4) and model.instance_memory.in_channels == 1024
    speed = name.rsplit('nonkey1of', 1)
    if len(speed) == 2:
        assert model.key_frame_interval == 5
        assert model.non_key_scale == pytest.approx(1 / int(speed[1][0]))
    else:
        assert (model.key_frame_interval, model.non_key_scale) == (1, 1.0)


@pytest.mark.parametrize('kind', ['pix', 'inst', 'pix-inst'])
def test_r101_schedule_is_embeddings_first_then_end_to_end(kind):
    stage1 = load(f'ogem-{kind}_{R101}_imagenetvid.py')
    stage2 = load(f'ogem-{kind}_{R101}-e2e10k_imagenetvid.py')
    assert stage1.model.detector.init_cfg.checkpoint == (
        'work_dirs/rfcn_r101-dc5_1xb1-200k_imagenetvid/iter_200000.pth')
    assert stage1.train_cfg.max_iters == 60000 and stage1.optim_wrapper.optimizer.lr == 1e-4
    assert stage2.train_cfg.max_iters == 10000 and stage2.optim_wrapper.optimizer.lr == 5e-5
    assert stage2.model.detector.init_cfg is None
    assert stage2.model.init_cfg.checkpoint == (
        f'work_dirs/ogem-{kind}_{R101}_imagenetvid/iter_60000.pth')
    assert 'paramwise_cfg' not in stage2.optim_wrapper


def test_stage_one_trains_only_the_memory():
    """lr_mult 0 on the wrapped detector: an SGD step moves only W_Q, W_K, W_V, lambda."""
    cfg = load(FRCNN_SYNTHVID)  # small model, the R-101 stage-1 optimiser settings
    model = build_without_checkpoints(cfg)
    optim_cfg = copy.deepcopy(load(f'ogem-pix-inst_{R101}_imagenetvid.py').optim_wrapper)
    optim = build_optim_wrapper(model, optim_cfg)
    for group in optim.optimizer.param_groups:
        for param in group['params']:
            param.grad = torch.ones_like(param)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optim.step()
    moved = {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    assert moved and all(not name.startswith('detector.') for name in moved)
    assert {n.split('.')[0] for n in moved} == {'pixel_memory', 'instance_memory'}


def test_synthvid_faster_rcnn_mixes_pixel_and_instance_memory():
    torch.manual_seed(0)
    cfg = load(FRCNN_SYNTHVID)
    assert cfg.train_dataloader.dataset.pipeline[0].num_frames == 4
    model = MODELS.build(cfg.model)
    assert type(model.detector).__name__ == 'FasterRCNN'
    frames = [make_frame(1, t, 3, size=(64, 64), num_classes=8) for t in range(3)]
    clip = TrackDataSample()
    clip.video_data_samples = [copy.deepcopy(s) for _, s in frames[:2]]
    data = model.data_preprocessor(
        dict(inputs=[torch.stack([img for img, _ in frames[:2]])], data_samples=[clip]), True)
    model.train()
    loss, log = model.parse_losses(model(**data, mode='loss'))
    loss.backward()
    assert torch.isfinite(loss) and 'loss_cls' in log and 'loss_rpn_cls' in log
    # the second frame read what the first wrote: gradients reach both memories' queries
    for memory in (model.pixel_memory, model.instance_memory):
        assert memory.w_q.grad is not None and memory.w_q.grad.abs().sum() > 0, memory.level
    model.eval()
    vstate = model.new_video_state(1)
    with torch.no_grad():
        for img, sample in frames:
            data = model.data_preprocessor(dict(inputs=[img], data_samples=[copy.deepcopy(sample)]))
            out = model.predict_frame(data['inputs'], data['data_samples'][0], vstate)
    stats = out.metainfo['memory_stats']
    instance = vstate.points['instance']
    # instance memory: the 256-d RoI embeddings of the last frame's proposals
    assert instance.rows.shape[1] == 256 and 0 < stats['instance.rows'] <= 100
    assert instance.frame_id == 2
    assert stats['pixel.0.rows'] > 0 and vstate.points['pixel.0'].last_read.frame_id == 2
    assert out.pred_instances.bboxes.shape[1] == 4
