"""The R-FCN configs: they parse, build, and hold Deng et al.'s settings."""
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config

import mmvid_memory  # noqa: F401

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'rfcn')
IMAGENET_VID = [
    osp.join(CONFIG_DIR, f'rfcn_r{depth}-dc5_1xb1-200k_imagenetvid.py') for depth in (18, 50, 101)
]
SYNTHVID = [osp.join(CONFIG_DIR, 'rfcn_r18-dc5_1xb4-4e_synthvid.py')]


def load(path: str) -> Config:
    return Config.fromfile(path)


@pytest.mark.parametrize('path', IMAGENET_VID, ids=osp.basename)
def test_imagenet_vid_configs_follow_seed_000(path):
    cfg = load(path)
    model = cfg.model
    assert cfg.custom_imports.imports == ['mmvid_memory'] and cfg.default_scope == 'mmdet'
    assert model.backbone.strides == (1, 2, 2, 1) and model.backbone.dilations == (1, 1, 1, 2)
    assert model.backbone.init_cfg.checkpoint == f'torchvision://resnet{model.backbone.depth}'
    assert model.neck.out_channels == 1024
    assert model.rpn_head.in_channel_slice == (0, 512)
    assert model.roi_head.bbox_roi_extractor.in_channel_slice == (512, 1024)
    anchors = model.rpn_head.anchor_generator
    assert len(anchors.scales) * len(anchors.ratios) == 9 and anchors.strides == [16]
    assert model.test_cfg.rpn.max_per_img == 300
    assert model.roi_head.bbox_roi_extractor.roi_size == 7
    assert model.roi_head.bbox_head.num_classes == 30
    assert model.train_cfg.rcnn.sampler.type == 'OHEMSampler'
    assert cfg.img_scale == (1000, 600)
    assert cfg.train_dataloader.batch_size == 1
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.0005, momentum=0.9,
                                               weight_decay=0.0005)
    assert cfg.train_cfg.max_iters == 200000
    (step, ) = cfg.param_scheduler
    assert step.milestones == [120000] and step.gamma == pytest.approx(0.1)
    built = MODELS.build(model)  # no init_weights: nothing is downloaded
    assert type(built).__name__ == 'RFCN'


def test_r50_imagenet_vid_model_trains_and_predicts_a_small_image():
    cfg = load(osp.join(CONFIG_DIR, 'rfcn_r50-dc5_1xb1-200k_imagenetvid.py'))
    torch.manual_seed(0)
    # At 96 x 128 px every anchor (128-512 px) crosses the border.
    cfg.model.train_cfg.rpn.allowed_border = -1
    model = MODELS.build(cfg.model)
    packed = demo_mm_inputs(1, [[3, 96, 128]], num_items=[2], num_classes=30)
    losses = model(**model.data_preprocessor(packed, True), mode='loss')
    loss = model.parse_losses(losses)[0]
    assert torch.isfinite(loss)
    loss.backward()
    assert model.backbone.layer1[0].conv1.weight.grad is None  # res2 is frozen
    assert model.neck.reduce_conv.weight.grad is not None
    model.eval()
    with torch.no_grad():
        (result, ) = model(**model.data_preprocessor(packed, False), mode='predict')
    assert len(result.pred_instances) <= 300


@pytest.mark.parametrize('path', SYNTHVID, ids=osp.basename)
def test_synthvid_config_keeps_the_structure_small(path):
    cfg = load(path)
    model = cfg.model
    assert model.backbone.depth == 18 and model.backbone.init_cfg is None
    assert model.backbone.strides == (1, 2, 2, 1) and model.backbone.dilations == (1, 1, 1, 2)
    channels = model.neck.out_channels
    assert model.rpn_head.in_channel_slice == (0, channels // 2)
    assert model.roi_head.bbox_roi_extractor.in_channel_slice == (channels // 2, channels)
    assert model.roi_head.bbox_head.num_classes == 8
    assert cfg.train_dataloader.dataset.type == 'SynthVIDDataset'
    assert cfg.test_evaluator.type == 'VIDMetric'
    torch.manual_seed(0)
    built = MODELS.build(model)
    built.init_weights()
    packed = demo_mm_inputs(2, [[3, 160, 160]] * 2, num_items=[2, 0], num_classes=8)
    loss = built.parse_losses(built(**built.data_preprocessor(packed, True), mode='loss'))[0]
    assert torch.isfinite(loss)
