"""Tiny mmdet detector configs and inputs shared by the model tests."""
import copy

import torch
from mmengine.config import ConfigDict
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

TINY_PREPROCESSOR = dict(
    type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True, pad_size_divisor=32)


def tiny_faster_rcnn(num_classes: int = 3) -> dict:
    """Faster R-CNN with a ResNet-18 of base width 8 and a 16-channel FPN."""
    return ConfigDict(
        type='FasterRCNN',
        data_preprocessor=copy.deepcopy(TINY_PREPROCESSOR),
        backbone=dict(type='ResNet', depth=18, base_channels=8, num_stages=4,
                      out_indices=(0, 1, 2, 3), frozen_stages=-1,
                      norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
                      style='pytorch'),
        neck=dict(type='FPN', in_channels=[8, 16, 32, 64], out_channels=16, num_outs=5),
        rpn_head=dict(
            type='RPNHead', in_channels=16, feat_channels=16,
            anchor_generator=dict(type='AnchorGenerator', scales=[8], ratios=[0.5, 1.0, 2.0],
                                  strides=[4, 8, 16, 32, 64]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                            target_stds=[1.0, 1.0, 1.0, 1.0]),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        roi_head=dict(
            type='StandardRoIHead',
            bbox_roi_extractor=dict(
                type='SingleRoIExtractor',
                roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
                out_channels=16, featmap_strides=[4, 8, 16, 32]),
            bbox_head=dict(
                type='Shared2FCBBoxHead', in_channels=16, fc_out_channels=32, roi_feat_size=7,
                num_classes=num_classes,
                bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                                target_stds=[0.1, 0.1, 0.2, 0.2]),
                reg_class_agnostic=False,
                loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
        train_cfg=dict(
            rpn=dict(
                assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                              min_pos_iou=0.3, match_low_quality=True, ignore_iof_thr=-1),
                sampler=dict(type='RandomSampler', num=64, pos_fraction=0.5, neg_pos_ub=-1,
                             add_gt_as_proposals=False),
                allowed_border=-1, pos_weight=-1, debug=False),
            rpn_proposal=dict(nms_pre=200, max_per_img=50, nms=dict(type='nms', iou_threshold=0.7),
                              min_bbox_size=0),
            rcnn=dict(
                assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                              min_pos_iou=0.5, match_low_quality=False, ignore_iof_thr=-1),
                sampler=dict(type='RandomSampler', num=32, pos_fraction=0.25, neg_pos_ub=-1,
                             add_gt_as_proposals=True),
                pos_weight=-1, debug=False)),
        test_cfg=dict(
            rpn=dict(nms_pre=200, max_per_img=50, nms=dict(type='nms', iou_threshold=0.7),
                     min_bbox_size=0),
            rcnn=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5), max_per_img=20)))


def tiny_retinanet(num_classes: int = 3) -> dict:
    return ConfigDict(
        type='RetinaNet',
        data_preprocessor=copy.deepcopy(TINY_PREPROCESSOR),
        backbone=dict(type='ResNet', depth=18, base_channels=8, num_stages=4,
                      out_indices=(1, 2, 3), frozen_stages=-1,
                      norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False),
        neck=dict(type='FPN', in_channels=[16, 32, 64], out_channels=16, start_level=0,
                  add_extra_convs='on_input', num_outs=3),
        bbox_head=dict(
            type='RetinaHead', num_classes=num_classes, in_channels=16, stacked_convs=1,
            feat_channels=16,
            anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                                  scales_per_octave=1, ratios=[0.5, 1.0, 2.0],
                                  strides=[8, 16, 32]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                            target_stds=[1.0, 1.0, 1.0, 1.0]),
            loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                          loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        train_cfg=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                          min_pos_iou=0, ignore_iof_thr=-1),
            sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1, debug=False),
        test_cfg=dict(nms_pre=100, min_bbox_size=0, score_thr=0.0,
                      nms=dict(type='nms', iou_threshold=0.5), max_per_img=20))


def tiny_cascade_rcnn(num_classes: int = 3) -> dict:
    """Cascade R-CNN (3 stages) on the tiny Faster R-CNN's backbone, FPN and RPN."""
    cfg = tiny_faster_rcnn(num_classes)
    cfg.type = 'CascadeRCNN'
    stage_stds = ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067])
    cfg.roi_head = ConfigDict(
        type='CascadeRoIHead', num_stages=3, stage_loss_weights=[1, 0.5, 0.25],
        bbox_roi_extractor=cfg.roi_head.bbox_roi_extractor,
        bbox_head=[dict(
            type='Shared2FCBBoxHead', in_channels=16, fc_out_channels=32, roi_feat_size=7,
            num_classes=num_classes, reg_class_agnostic=True,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                            target_stds=stds),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)) for stds in stage_stds])
    rcnn = cfg.train_cfg.rcnn
    cfg.train_cfg.rcnn = [
        dict(rcnn, assigner=dict(rcnn.assigner, pos_iou_thr=thr, neg_iou_thr=thr, min_pos_iou=thr))
        for thr in (0.5, 0.6, 0.7)]
    return cfg


_CSP_NORM = dict(type='BN', momentum=0.03, eps=0.001)


def tiny_yolox(num_classes: int = 3) -> dict:
    """YOLOX with a CSPDarknet of widen factor 1/8 and a 32-channel PAFPN."""
    return ConfigDict(
        type='YOLOX',
        data_preprocessor=dict(type='DetDataPreprocessor', pad_size_divisor=32,
                               batch_augments=None),
        backbone=dict(type='CSPDarknet', deepen_factor=0.33, widen_factor=0.125,
                      out_indices=(2, 3, 4), use_depthwise=False, spp_kernal_sizes=(5, 9, 13),
                      norm_cfg=_CSP_NORM, act_cfg=dict(type='Swish')),
        neck=dict(type='YOLOXPAFPN', in_channels=[32, 64, 128], out_channels=32,
                  num_csp_blocks=1, use_depthwise=False,
                  upsample_cfg=dict(scale_factor=2, mode='nearest'),
                  norm_cfg=_CSP_NORM, act_cfg=dict(type='Swish')),
        bbox_head=dict(type='YOLOXHead', num_classes=num_classes, in_channels=32,
                       feat_channels=32, stacked_convs=1, strides=(8, 16, 32),
                       use_depthwise=False, norm_cfg=_CSP_NORM, act_cfg=dict(type='Swish')),
        train_cfg=dict(assigner=dict(type='SimOTAAssigner', center_radius=2.5)),
        test_cfg=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.65)))


def tiny_rtmdet(num_classes: int = 3) -> dict:
    """RTMDet with a CSPNeXt of widen factor 1/8; the preprocessor pads to no
    divisor, as mmdet's RTMDet configs."""
    act = dict(type='SiLU', inplace=True)
    return ConfigDict(
        type='RTMDet',
        data_preprocessor=dict(type='DetDataPreprocessor', mean=[103.53, 116.28, 123.675],
                               std=[57.375, 57.12, 58.395], bgr_to_rgb=False,
                               batch_augments=None),
        backbone=dict(type='CSPNeXt', arch='P5', expand_ratio=0.5, deepen_factor=0.167,
                      widen_factor=0.125, channel_attention=True, norm_cfg=dict(type='BN'),
                      act_cfg=act),
        neck=dict(type='CSPNeXtPAFPN', in_channels=[32, 64, 128], out_channels=32,
                  num_csp_blocks=1, expand_ratio=0.5, norm_cfg=dict(type='BN'), act_cfg=act),
        bbox_head=dict(
            type='RTMDetSepBNHead', num_classes=num_classes, in_channels=32, stacked_convs=1,
            feat_channels=32, anchor_generator=dict(type='MlvlPointGenerator', offset=0,
                                                    strides=[8, 16, 32]),
            bbox_coder=dict(type='DistancePointBBoxCoder'),
            loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0),
            loss_bbox=dict(type='GIoULoss', loss_weight=2.0), with_objectness=False,
            exp_on_reg=False, share_conv=True, pred_kernel_size=1, norm_cfg=dict(type='BN'),
            act_cfg=act),
        train_cfg=dict(assigner=dict(type='DynamicSoftLabelAssigner', topk=13),
                       allowed_border=-1, pos_weight=-1, debug=False),
        test_cfg=dict(nms_pre=100, min_bbox_size=0, score_thr=0.0,
                      nms=dict(type='nms', iou_threshold=0.6), max_per_img=20))


def tiny_deformable_detr(num_classes: int = 3) -> dict:
    """Deformable DETR: 2 levels of 32 channels, one encoder and one decoder layer."""
    return ConfigDict(
        type='DeformableDETR', num_queries=20, num_feature_levels=2, with_box_refine=False,
        as_two_stage=False,
        data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=1),
        backbone=dict(type='ResNet', depth=18, base_channels=8, num_stages=4,
                      out_indices=(2, 3), frozen_stages=-1,
                      norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
                      style='pytorch'),
        neck=dict(type='ChannelMapper', in_channels=[32, 64], kernel_size=1, out_channels=32,
                  act_cfg=None, norm_cfg=dict(type='GN', num_groups=8), num_outs=2),
        encoder=dict(num_layers=1, layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=32, num_levels=2, num_heads=4, num_points=2,
                               batch_first=True),
            ffn_cfg=dict(embed_dims=32, feedforward_channels=64, ffn_drop=0.0))),
        decoder=dict(num_layers=1, return_intermediate=True, layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=32, num_heads=4, dropout=0.0, batch_first=True),
            cross_attn_cfg=dict(embed_dims=32, num_levels=2, num_heads=4, num_points=2,
                                batch_first=True),
            ffn_cfg=dict(embed_dims=32, feedforward_channels=64, ffn_drop=0.0)),
            post_norm_cfg=None),
        positional_encoding=dict(num_feats=16, normalize=True, offset=-0.5),
        bbox_head=dict(type='DeformableDETRHead', num_classes=num_classes, embed_dims=32,
                       sync_cls_avg_factor=True,
                       loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                                     loss_weight=2.0),
                       loss_bbox=dict(type='L1Loss', loss_weight=5.0),
                       loss_iou=dict(type='GIoULoss', loss_weight=2.0)),
        train_cfg=dict(assigner=dict(type='HungarianAssigner', match_costs=[
            dict(type='FocalLossCost', weight=2.0),
            dict(type='BBoxL1Cost', weight=5.0, box_format='xywh'),
            dict(type='IoUCost', iou_mode='giou', weight=2.0)])),
        test_cfg=dict(max_per_img=20))


def make_frame(video_id: int, frame_id: int, video_length: int, size=(64, 64), num_gt=2,
               seed=0, num_classes=3):
    """A uint8 frame (3, H, W) and its DetDataSample, as PackDetInputs makes them."""
    gen = torch.Generator().manual_seed(seed * 1000 + video_id * 100 + frame_id)
    h, w = size
    img = torch.randint(0, 255, (3, h, w), generator=gen, dtype=torch.uint8)
    sample = DetDataSample(metainfo=dict(
        img_id=video_id * 1000 + frame_id, img_path=f'v{video_id}/{frame_id:06d}.jpg',
        ori_shape=(h, w), img_shape=(h, w), scale_factor=(1.0, 1.0), flip=False,
        flip_direction=None, video_id=video_id, frame_id=frame_id, video_length=video_length))
    gt = InstanceData()
    xy = torch.rand(num_gt, 2, generator=gen) * torch.tensor([w * 0.6, h * 0.6])
    wh = 8 + torch.rand(num_gt, 2, generator=gen) * torch.tensor([w * 0.35, h * 0.35])
    gt.bboxes = torch.cat([xy, xy + wh], dim=1)
    gt.labels = torch.randint(0, num_classes, (num_gt,), generator=gen)
    sample.gt_instances = gt
    sample.ignored_instances = InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0).long())
    return img, sample
