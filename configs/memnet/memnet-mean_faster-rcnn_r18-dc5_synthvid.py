# MemNet on a Faster R-CNN (issue 7: the memory on another detector than R-FCN):
# the half-width ResNet-18 of the SynthVID R-FCN (conv5 at stride 1, dilation 2,
# one 256-channel map at stride 16 after the reduce conv), a standard RPN and a
# RoIAlign + 2-fc box head; MemNetWarper (mean) warps and averages that map.
# Trained from scratch on clips of 3 consecutive frames (MemNet-3, evidence
# dropped with p = 0.8) with the R-FCN baseline's 4-epoch schedule.
_base_ = '../rfcn/rfcn_r18-dc5_1xb4-4e_synthvid.py'

flow_net = dict(type='FlowNetS', base_channels=8, feature_stride=16, downsample=2)
detector = dict(
    type='FasterRCNN',
    data_preprocessor=_base_.model.data_preprocessor,
    backbone=_base_.model.backbone,
    neck=dict(type='DilatedReduceNeck', in_channels=256, out_channels=256, dilation=2),
    rpn_head=dict(
        type='RPNHead', in_channels=256, feat_channels=256,
        anchor_generator=dict(type='AnchorGenerator', scales=[1.25, 2.5, 5.0],
                              ratios=[0.5, 1.0, 2.0], strides=[16]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0, 0.0, 0.0, 0.0],
                        target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
            out_channels=256, featmap_strides=[16]),
        bbox_head=dict(
            type='Shared2FCBBoxHead', in_channels=256, fc_out_channels=256, roi_feat_size=7,
            num_classes=8,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0, 0.0, 0.0, 0.0],
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                          min_pos_iou=0.3, match_low_quality=True, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=128, pos_fraction=0.5, neg_pos_ub=-1,
                         add_gt_as_proposals=False),
            allowed_border=-1, pos_weight=-1, debug=False),
        rpn_proposal=dict(nms_pre=1000, max_per_img=100, nms=dict(type='nms', iou_threshold=0.7),
                          min_bbox_size=0),
        rcnn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                          min_pos_iou=0.5, match_low_quality=False, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=64, pos_fraction=0.25, neg_pos_ub=-1,
                         add_gt_as_proposals=True),
            pos_weight=-1, debug=False)),
    test_cfg=dict(
        rpn=dict(nms_pre=1000, max_per_img=100, nms=dict(type='nms', iou_threshold=0.7),
                 min_bbox_size=0),
        rcnn=dict(score_thr=0.001, nms=dict(type='nms', iou_threshold=0.3), max_per_img=100)))
model = dict(
    _delete_=True,
    type='MemoryVideoDetector',
    detector=detector,
    pixel_memory=dict(
        type='MemNetWarper', flow_net=flow_net, aggregation='mean', in_channels=256,
        evidence_drop_prob=0.8, flow_loss_weight=1.0, flow_smooth_weight=0.1))
train_dataloader = _base_.memnet3_train_dataloader
