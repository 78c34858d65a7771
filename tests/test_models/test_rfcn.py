"""R-FCN (RFCN, SlicedRPNHead, RFCNRoIHead, PSRoIExtractor, RFCNBBoxHead,
DilatedReduceNeck) on the CPU with a tiny ResNet-18."""
import copy
from typing import Optional

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.testing import demo_mm_inputs
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

import mmvid_memory  # noqa: F401
from mmvid_memory.models.necks import DilatedReduceNeck
from mmvid_memory.models.roi_heads import drop_zero_area_gt, position_sensitive_vote

NUM_CLASSES = 3
NECK_CHANNELS = 32
RPN_SLICE = (0, 16)
RFCN_SLICE = (16, 32)


def tiny_rfcn_cfg(num_classes: int = NUM_CLASSES, roi_size: int = 7,
                  rcnn_sampler: Optional[dict] = None) -> ConfigDict:
    """R-FCN with a ResNet-18 of base width 8 (64 channels at stride 16), a
    32-channel reduced map split 16/16, anchors of 16-64 px."""
    if rcnn_sampler is None:
        rcnn_sampler = dict(type='RandomSampler', num=32, pos_fraction=0.25, neg_pos_ub=-1,
                            add_gt_as_proposals=True)
    rpn_proposal = dict(nms_pre=200, max_per_img=50, nms=dict(type='nms', iou_threshold=0.7),
                        min_bbox_size=0)
    return ConfigDict(
        type='RFCN',
        data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=16),
        backbone=dict(type='ResNet', depth=18, base_channels=8, num_stages=4,
                      strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2), out_indices=(3, ),
                      frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True),
                      norm_eval=False, style='pytorch'),
        neck=dict(type='DilatedReduceNeck', in_channels=64, out_channels=NECK_CHANNELS,
                  dilation=2),
        rpn_head=dict(
            type='SlicedRPNHead', in_channels=NECK_CHANNELS, in_channel_slice=RPN_SLICE,
            anchor_generator=dict(type='AnchorGenerator', scales=[1, 2, 4],
                                  ratios=[0.5, 1.0, 2.0], strides=[16]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                            target_stds=[1.0] * 4),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1 / 9, loss_weight=1.0)),
        roi_head=dict(
            type='RFCNRoIHead',
            bbox_roi_extractor=dict(type='PSRoIExtractor', in_channels=NECK_CHANNELS,
                                    in_channel_slice=RFCN_SLICE, roi_size=roi_size,
                                    featmap_stride=16),
            bbox_head=dict(
                type='RFCNBBoxHead', num_classes=num_classes, roi_feat_size=roi_size,
                bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                                target_stds=[0.1, 0.1, 0.2, 0.2]),
                loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))),
        train_cfg=dict(
            rpn=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                                   min_pos_iou=0.3, match_low_quality=True, ignore_iof_thr=-1),
                     sampler=dict(type='RandomSampler', num=64, pos_fraction=0.5, neg_pos_ub=-1,
                                  add_gt_as_proposals=False),
                     allowed_border=-1, pos_weight=-1, debug=False),
            rpn_proposal=copy.deepcopy(rpn_proposal),
            rcnn=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                                    min_pos_iou=0.5, match_low_quality=False, ignore_iof_thr=-1),
                      sampler=rcnn_sampler, pos_weight=-1, debug=False)),
        test_cfg=dict(
            rpn=copy.deepcopy(rpn_proposal),
            rcnn=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.3), max_per_img=20)))


def build_model(cfg: Optional[ConfigDict] = None, seed: int = 0):
    torch.manual_seed(seed)
    model = MODELS.build(cfg if cfg is not None else tiny_rfcn_cfg())
    model.init_weights()
    return model


def batch(model, num_items=(2, 0), shapes=((3, 64, 64), (3, 48, 64)), training=True):
    packed = demo_mm_inputs(len(num_items), [list(s) for s in shapes], num_items=list(num_items),
                            num_classes=NUM_CLASSES)
    return model.data_preprocessor(packed, training)


def total_loss(model, losses):
    return model.parse_losses(losses)[0]


ROI_LOSS_KEYS = {'loss_cls', 'acc', 'loss_bbox'}
RPN_LOSS_KEYS = {'loss_rpn_cls', 'loss_rpn_bbox'}


@pytest.fixture(scope='module')
def model():
    return build_model()


# ----------------------------------------------------------------------------- structure


def test_extract_feat_is_one_map_at_stride_16(model):
    data = batch(model, shapes=((3, 64, 96), (3, 64, 96)))
    feats = model.extract_feat(data['inputs'])
    assert isinstance(feats, tuple) and len(feats) == 1
    assert feats[0].shape == (2, NECK_CHANNELS, 4, 6)
    assert (feats[0] >= 0).all()  # the reduce conv ends in a ReLU


def test_heads_read_only_their_channel_halves(model):
    model.eval()
    torch.manual_seed(1)
    feat = torch.rand(1, NECK_CHANNELS, 4, 4)
    rois = torch.tensor([[0., 4., 4., 40., 50.], [0., 10., 0., 60., 30.]])
    rpn_out = model.rpn_head(tuple([feat]))
    roi_out = model.roi_head._bbox_forward((feat, ), rois)
    # Changing the R-FCN half leaves the RPN unchanged, and the other way round.
    feat_rfcn_changed = feat.clone()
    feat_rfcn_changed[:, RFCN_SLICE[0]:] += torch.rand(1, 16, 4, 4)
    feat_rpn_changed = feat.clone()
    feat_rpn_changed[:, :RPN_SLICE[1]] += torch.rand(1, 16, 4, 4)
    rpn_out_2 = model.rpn_head((feat_rfcn_changed, ))
    roi_out_2 = model.roi_head._bbox_forward((feat_rpn_changed, ), rois)
    for a, b in zip(rpn_out, rpn_out_2):
        torch.testing.assert_close(a[0], b[0])
    torch.testing.assert_close(roi_out['cls_score'], roi_out_2['cls_score'])
    # ... and each head does react to its own half.
    assert not torch.allclose(model.rpn_head((feat_rpn_changed, ))[0][0], rpn_out[0][0])
    changed = model.roi_head._bbox_forward((feat_rfcn_changed, ), rois)['cls_score']
    assert not torch.allclose(changed, roi_out['cls_score'])
    model.train()


def test_bbox_feats_are_pooled_ps_maps_and_head_votes(model):
    feat = torch.rand(1, NECK_CHANNELS, 4, 4)
    rois = torch.tensor([[0., 0., 0., 63., 63.], [0., 16., 16., 31., 47.]])
    out = model.roi_head._bbox_forward((feat, ), rois)
    c1 = NUM_CLASSES + 1
    assert out['bbox_feats'].shape == (2, c1 + 4, 7, 7)
    assert out['cls_score'].shape == (2, c1)
    assert out['bbox_pred'].shape == (2, 4)
    voted = out['bbox_feats'].mean(dim=(2, 3))
    torch.testing.assert_close(out['cls_score'], voted[:, :c1])
    torch.testing.assert_close(out['bbox_pred'], voted[:, c1:])
    # The pooled class part is PSRoIPool of the class score maps.
    from mmvid_memory.ops import ps_roi_pool
    extractor = model.roi_head.bbox_roi_extractor
    cls_maps, _ = extractor.score_maps(feat)
    assert cls_maps.shape == (1, 49 * c1, 4, 4)
    torch.testing.assert_close(out['bbox_feats'][:, :c1], ps_roi_pool(cls_maps, rois, 7, 1 / 16))


def test_position_sensitive_vote_is_the_bin_mean():
    pooled = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).view(2, 3, 2, 2)
    expected = torch.tensor([[1.5, 5.5, 9.5], [13.5, 17.5, 21.5]])
    torch.testing.assert_close(position_sensitive_vote(pooled), expected)
    assert position_sensitive_vote(torch.zeros(0, 3, 7, 7)).shape == (0, 3)


def test_reduce_neck_keeps_the_map_size_at_any_dilation():
    for dilation in (1, 2, 6):
        neck = DilatedReduceNeck(in_channels=8, out_channels=4, dilation=dilation)
        (out, ) = neck((torch.rand(2, 16, 9, 9), torch.rand(2, 8, 5, 7)))
        assert out.shape == (2, 4, 5, 7) and (out >= 0).all()


def test_drop_zero_area_gt_leaves_inputs_alone():
    sample = DetDataSample()
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[1., 1., 1., 1.], [0., 0., 5., 5.], [2., 0., 2., 9.]]),
        labels=torch.tensor([0, 1, 2]))
    clean = DetDataSample()
    clean.gt_instances = InstanceData(bboxes=torch.tensor([[0., 0., 5., 5.]]),
                                      labels=torch.tensor([1]))
    out = drop_zero_area_gt([sample, clean])
    assert out[1] is clean
    assert out[0] is not sample and len(sample.gt_instances) == 3
    assert out[0].gt_instances.labels.tolist() == [1]


def test_bbox_head_input_can_be_replaced_by_a_pre_hook(model):
    """The instance-memory contract: bbox_head.forward takes the pooled
    tensor as its one input, so a pre-hook can swap it."""
    seen = []

    def hook(module, args):
        seen.append(args[0].shape)
        return (torch.zeros_like(args[0]), )

    handle = model.roi_head.bbox_head.register_forward_pre_hook(hook)
    try:
        out = model.roi_head._bbox_forward((torch.rand(1, NECK_CHANNELS, 4, 4), ),
                                           torch.tensor([[0., 0., 0., 40., 40.]]))
    finally:
        handle.remove()
    assert seen == [torch.Size([1, NUM_CLASSES + 1 + 4, 7, 7])]
    assert torch.count_nonzero(out['cls_score']) == 0 and torch.count_nonzero(out['bbox_pred']) == 0


def test_other_roi_size_and_class_specific_regression():
    cfg = tiny_rfcn_cfg(roi_size=3)
    cfg.roi_head.bbox_head.reg_class_agnostic = False
    model = build_model(cfg)
    assert model.roi_head.bbox_roi_extractor.conv_reg.out_channels == 9 * 4 * NUM_CLASSES
    out = model.roi_head._bbox_forward((torch.rand(1, NECK_CHANNELS, 4, 4), ),
                                       torch.tensor([[0., 0., 0., 40., 40.]]))
    assert out['bbox_feats'].shape == (1, NUM_CLASSES + 1 + 4 * NUM_CLASSES, 3, 3)
    losses = model(**batch(model), mode='loss')
    assert torch.isfinite(total_loss(model, losses))


# ----------------------------------------------------------------------------- loss / predict


def test_loss_trains_every_parameter(model):
    model.train()
    model.zero_grad()
    losses = model(**batch(model, num_items=(3, 2), shapes=((3, 64, 64), (3, 64, 64))),
                   mode='loss')
    assert RPN_LOSS_KEYS | ROI_LOSS_KEYS <= set(losses)
    loss = total_loss(model, losses)
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    no_grad = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert no_grad == []


def test_predict_returns_boxes_in_original_image_coordinates(model):
    model.eval()
    data = batch(model, num_items=(1, 1), shapes=((3, 64, 64), (3, 48, 64)), training=False)
    for sample in data['data_samples']:
        # Pretend the network input was resized by (w 0.5, h 0.25) from the original.
        sample.set_metainfo(dict(scale_factor=(0.5, 0.25),
                                 ori_shape=(sample.img_shape[0] * 4, sample.img_shape[1] * 2)))
    with torch.no_grad():
        rescaled = model.predict(data['inputs'], copy.deepcopy(data['data_samples']), rescale=True)
        raw = model.predict(data['inputs'], copy.deepcopy(data['data_samples']), rescale=False)
        default = model(**data, mode='predict')
    for res, res_raw, res_default in zip(rescaled, raw, default):
        assert isinstance(res, DetDataSample)
        pred = res.pred_instances
        n = len(pred)
        assert 0 < n <= 20
        assert pred.bboxes.shape == (n, 4) and pred.scores.shape == (n, )
        assert pred.labels.dtype == torch.long and pred.labels.shape == (n, )
        assert ((pred.labels >= 0) & (pred.labels < NUM_CLASSES)).all()
        assert ((pred.scores >= 0) & (pred.scores <= 1)).all()
        expected = res_raw.pred_instances.bboxes / torch.tensor([0.5, 0.25, 0.5, 0.25])
        torch.testing.assert_close(pred.bboxes, expected)
        torch.testing.assert_close(res_default.pred_instances.bboxes, pred.bboxes)
        h, w = res.img_shape
        raw_boxes = res_raw.pred_instances.bboxes
        assert (raw_boxes >= 0).all() and (raw_boxes[:, 2] <= w).all() and (raw_boxes[:, 3] <= h).all()
    model.train()


def test_tensor_mode_gives_scores_and_deltas(model):
    model.eval()
    data = batch(model, num_items=(1, 1), training=False)
    with torch.no_grad():
        (cls_score, bbox_pred), = model(**data, mode='tensor')
    assert cls_score.size(1) == NUM_CLASSES + 1 and bbox_pred.size(1) == 4
    model.train()


# ----------------------------------------------------------------------------- edge cases


def _no_proposal_cfg() -> ConfigDict:
    """The RPN drops every box smaller than 10^5 px, so it proposes nothing."""
    cfg = tiny_rfcn_cfg()
    cfg.train_cfg.rpn_proposal.min_bbox_size = 1e5
    cfg.test_cfg.rpn.min_bbox_size = 1e5
    return cfg


def test_loss_without_ground_truth():
    model = build_model()
    data = batch(model, num_items=(0, 0))
    losses = model(**data, mode='loss')
    assert RPN_LOSS_KEYS | ROI_LOSS_KEYS <= set(losses)
    loss = total_loss(model, losses)
    assert torch.isfinite(loss)
    loss.backward()
    assert losses['loss_bbox'].item() == 0


def test_zero_proposals_in_loss_and_predict():
    model = build_model(_no_proposal_cfg())
    # Ground truth in image 0 becomes its only RoIs; image 1 has none at all.
    data = batch(model, num_items=(2, 0))
    losses = model(**data, mode='loss')
    assert ROI_LOSS_KEYS <= set(losses)
    loss = total_loss(model, losses)
    assert torch.isfinite(loss)
    loss.backward()
    # No RoI at all in the batch: loss_cls is a zero that keeps the graph.
    model.zero_grad()
    losses = model(**batch(model, num_items=(0, 0)), mode='loss')
    assert losses['loss_cls'].item() == 0 and losses['loss_cls'].requires_grad
    total_loss(model, losses).backward()
    assert model.roi_head.bbox_roi_extractor.conv_cls.weight.grad is not None

    model.eval()
    with torch.no_grad():
        results = model(**batch(model, num_items=(1, 1), training=False), mode='predict')
    for res in results:
        assert len(res.pred_instances) == 0
        assert res.pred_instances.bboxes.shape == (0, 4)
        assert res.pred_instances.scores.shape == (0, )
        assert res.pred_instances.labels.shape == (0, )


def test_point_boxes():
    """Ground truth, proposals and RoIs that degenerate to a point."""
    model = build_model()
    data = batch(model, num_items=(2, 1))
    point_gt = torch.tensor([[20., 20., 20., 20.], [30., 10., 50., 40.]])
    data['data_samples'][0].gt_instances.bboxes = point_gt
    data['data_samples'][1].gt_instances.bboxes = torch.tensor([[5., 5., 5., 5.]])
    losses = model(**data, mode='loss')
    loss = total_loss(model, losses)
    assert torch.isfinite(loss)
    loss.backward()
    for p in model.parameters():
        if p.grad is not None:
            assert torch.isfinite(p.grad).all()

    model.eval()
    test_data = batch(model, num_items=(1, 1), training=False)
    feats = model.extract_feat(test_data['inputs'])
    proposals = [
        InstanceData(bboxes=torch.tensor([[10., 10., 10., 10.], [0., 0., 0., 0.],
                                          [5., 5., 40., 40.]]),
                     scores=torch.ones(3), labels=torch.zeros(3, dtype=torch.long)),
        InstanceData(bboxes=torch.tensor([[63., 47., 63., 47.]]), scores=torch.ones(1),
                     labels=torch.zeros(1, dtype=torch.long)),
    ]
    with torch.no_grad():
        results = model.roi_head.predict(feats, proposals, test_data['data_samples'],
                                         rescale=True)
    for res in results:
        assert torch.isfinite(res.bboxes).all() and torch.isfinite(res.scores).all()
        assert res.bboxes.shape[1] == 4 and len(res.bboxes) > 0
    model.train()


# ----------------------------------------------------------------------------- OHEM


def test_ohem_picks_the_hardest_rois():
    sampler = dict(type='OHEMSampler', num=8, pos_fraction=0.25, neg_pos_ub=-1,
                   add_gt_as_proposals=True)
    model = build_model(tiny_rfcn_cfg(rcnn_sampler=sampler))
    data = batch(model, num_items=(2, 1), shapes=((3, 64, 64), (3, 64, 64)))
    losses = model(**data, mode='loss')
    assert ROI_LOSS_KEYS <= set(losses) and torch.isfinite(total_loss(model, losses))
    total_loss(model, losses).backward()

    # The negatives OHEM keeps are those with the largest classification loss.
    roi_head = model.roi_head
    feats = model.extract_feat(data['inputs'])
    torch.manual_seed(3)
    proposals = torch.rand(40, 2) * 40
    proposals = torch.cat([proposals, proposals + 8 + torch.rand(40, 2) * 20], dim=1)
    rpn_results = InstanceData(priors=proposals)
    gt = data['data_samples'][0].gt_instances
    assign_result = roi_head.bbox_assigner.assign(rpn_results, gt)
    result = roi_head.bbox_sampler.sample(assign_result, rpn_results, gt,
                                          feats=[f[0][None] for f in feats])
    # sample() prepended the gt boxes to the priors and to assign_result.
    candidates = torch.nonzero(assign_result.gt_inds == 0).squeeze(1)
    num_neg = len(result.neg_inds)
    assert 0 < num_neg < len(candidates)
    with torch.no_grad():
        all_boxes = torch.cat([gt.bboxes, proposals])
        rois = torch.cat([all_boxes.new_zeros(len(all_boxes), 1), all_boxes], dim=1)
        cls_score = roi_head._bbox_forward([f[0][None] for f in feats], rois)['cls_score']
        background = cls_score.new_full((len(rois), ), NUM_CLASSES, dtype=torch.long)
        neg_loss = torch.nn.functional.cross_entropy(cls_score, background, reduction='none')
    hardest = candidates[neg_loss[candidates].topk(num_neg).indices]
    assert set(result.neg_inds.tolist()) == set(hardest.tolist())


# ----------------------------------------------------------------------------- errors


def test_clear_errors_for_bad_configs():
    cfg = tiny_rfcn_cfg()
    cfg.rpn_head.in_channels = 48
    cfg.rpn_head.in_channel_slice = (0, 24)
    with pytest.raises(ValueError, match=r'rpn_head.in_channels=48 but the neck makes 32'):
        MODELS.build(cfg)
    cfg = tiny_rfcn_cfg()
    cfg.roi_head.bbox_roi_extractor.in_channel_slice = (16, 40)
    with pytest.raises(ValueError, match=r'PSRoIExtractor: in_channel_slice \(16, 40\)'):
        MODELS.build(cfg)
    cfg = tiny_rfcn_cfg()
    cfg.roi_head.bbox_head.in_channels = 256
    with pytest.raises(TypeError, match='RFCNBBoxHead has no fc layers'):
        MODELS.build(cfg)
    cfg = tiny_rfcn_cfg()
    cfg.roi_head.bbox_roi_extractor.cls_out_channels = 7
    with pytest.raises(ValueError, match='cls_out_channels=7 but the bbox_head votes 4'):
        MODELS.build(cfg)
    cfg = tiny_rfcn_cfg()
    cfg.neck.in_channels = 128
    model = MODELS.build(cfg)
    with pytest.raises(ValueError, match=r'DilatedReduceNeck: expected a \(N, 128, H, W\)'):
        model.extract_feat(torch.rand(1, 3, 32, 32))
    cfg = tiny_rfcn_cfg()
    model = MODELS.build(cfg)
    with pytest.raises(ValueError, match=r'RFCNBBoxHead: expected pooled features \(K, 8, k, k\)'):
        model.roi_head.bbox_head(torch.rand(2, 5, 7, 7))
    with pytest.raises(ValueError, match=r'SlicedRPNHead: expected a \(N, 32, H, W\)'):
        model.rpn_head((torch.rand(1, 31, 4, 4), ))


# ----------------------------------------------------------------------------- regression


def test_pinned_loss_values():
    """Training losses of the tiny R-FCN at seed 0 on mmdet's demo batch, at
    initialisation and after three SGD steps (the later value depends on every
    gradient, the proposals and the sampling)."""
    model = build_model(seed=0)
    data = batch(model, num_items=(3, 2), shapes=((3, 64, 64), (3, 64, 64)))
    torch.manual_seed(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    totals = []
    for step in range(4):
        optimizer.zero_grad()
        losses = model(**data, mode='loss')
        if step == 0:
            initial = {k: float(total_loss(model, {k: v})) for k, v in losses.items()
                       if 'loss' in k}
        loss = total_loss(model, losses)
        totals.append(float(loss))
        loss.backward()
        optimizer.step()
    assert set(initial) == set(PINNED_INITIAL_LOSSES)
    for key, value in PINNED_INITIAL_LOSSES.items():
        assert initial[key] == pytest.approx(value, rel=1e-4), (key, initial)
    assert totals[-1] == pytest.approx(PINNED_TOTAL_LOSS_AFTER_3_STEPS, rel=1e-4), totals


PINNED_INITIAL_LOSSES = {
    'loss_rpn_cls': 0.693446159362793,
    'loss_rpn_bbox': 0.023254739120602608,
    'loss_cls': 1.3866724967956543,
    'loss_bbox': 0.027891552075743675,
}
PINNED_TOTAL_LOSS_AFTER_3_STEPS = 2.167567253112793
