# A small R-FCN for SynthVID (160 x 160 frames, 8 classes) that trains from
# scratch on a CPU: the structure of Deng et al.'s R-FCN (conv5 at stride 1 with
# dilation 2, a dilated 3x3 reduce conv, the map split in halves for the RPN
# and the 7x7 position-sensitive head, 9 anchors, OHEM) with a half-width
# ResNet-18, a 256-channel map split 128/128, anchors fitted to SynthVID's
# objects (16-90 px) and fewer samples and proposals.
_base_ = './rfcn_r50-dc5.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=18,
        base_channels=32,
        num_stages=4,
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        out_indices=(3, ),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    # The stride-16 map of a 160 px frame is 10 x 10: dilation 2, not 6.
    neck=dict(in_channels=256, out_channels=256, dilation=2),
    rpn_head=dict(
        in_channels=256,
        in_channel_slice=(0, 128),
        anchor_generator=dict(scales=[1.25, 2.5, 5.0])),
    roi_head=dict(
        bbox_roi_extractor=dict(in_channels=256, in_channel_slice=(128, 256)),
        bbox_head=dict(num_classes=8)),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=128), allowed_border=-1),
        rpn_proposal=dict(nms_pre=1000, max_per_img=100),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(
        rpn=dict(nms_pre=1000, max_per_img=100),
        rcnn=dict(max_per_img=100)))
