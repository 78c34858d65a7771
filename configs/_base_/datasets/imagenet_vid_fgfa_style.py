# ImageNet VID (+ the 30 VID classes of ImageNet DET) in CocoVID form, as
# written by tools/dataset_converters/imagenet_vid.py into data_root/annotations.
# FGFA-style training: VID key frames (15 per video, evenly spread) mixed with
# DET images at a configurable ratio; shorter side 600, longer side <= 1000.
#
# Train loaders:
#   train_dataloader           single frames / images (R-FCN baseline, Deng et al.)
#   ogem_train_dataloader      clips of 4 frames at most 20 apart; DET images
#                              repeated 4 times (Deng et al.)
#   memnet3_train_dataloader   3 consecutive frames (Vu et al.)
#   memnet6_train_dataloader   6 consecutive frames (Vu et al.)
# pick one with `train_dataloader = _base_.ogem_train_dataloader`.
# Testing: ImageNet VID val, every frame, video after video, whole videos per rank.
dataset_type = 'ImageNetVIDDataset'
data_root = 'data/ILSVRC/'
img_scale = (1000, 600)  # keep ratio: shorter side 600, longer <= 1000
backend_args = None
vid_det_ratios = (1, 1)  # VID : DET items per epoch

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadTrackAnnotations'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackVideoFrameInputs'),
]
clip_frame_transforms = dict(
    type='TransformBroadcaster',
    share_random_params=True,
    transforms=[
        dict(type='LoadImageFromFile', backend_args=backend_args),
        dict(type='LoadTrackAnnotations'),
        dict(type='Resize', scale=img_scale, keep_ratio=True),
        dict(type='RandomFlip', prob=0.5),
    ])
ogem_train_pipeline = [
    dict(type='VideoClipSample', num_frames=4, mode='interval', max_interval=20),
    clip_frame_transforms,
    dict(type='PackTrackInputs'),
]
memnet3_train_pipeline = [
    dict(type='VideoClipSample', num_frames=3, mode='consecutive'),
    clip_frame_transforms,
    dict(type='PackTrackInputs'),
]
memnet6_train_pipeline = [
    dict(type='VideoClipSample', num_frames=6, mode='consecutive'),
    clip_frame_transforms,
    dict(type='PackTrackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    # After Resize: ground truth stays in original coordinates for VIDMetric.
    dict(type='LoadTrackAnnotations'),
    dict(type='PackVideoFrameInputs'),
]

vid_train = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='annotations/imagenet_vid_train.json',
    data_prefix=dict(img_path='Data/'),
    key_frames_per_video=15,
    filter_cfg=dict(filter_empty_gt=True),
    backend_args=backend_args)
det_train = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='annotations/imagenet_det_30cls.json',
    data_prefix=dict(img_path='Data/'),
    load_as_video=False,
    filter_cfg=dict(filter_empty_gt=True),
    backend_args=backend_args)

train_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='VIDDETMixSampler', ratios=vid_det_ratios),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(**vid_train, item_type='frame', pipeline=train_pipeline),
            dict(**det_train, item_type='frame', pipeline=train_pipeline),
        ]))
ogem_train_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='VIDDETMixSampler', ratios=vid_det_ratios),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(**vid_train, item_type='video', pipeline=ogem_train_pipeline),
            dict(**det_train, item_type='video', pipeline=ogem_train_pipeline),
        ]))
memnet3_train_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='VIDDETMixSampler', ratios=vid_det_ratios),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(**vid_train, item_type='video', pipeline=memnet3_train_pipeline),
            dict(**det_train, item_type='video', pipeline=memnet3_train_pipeline),
        ]))
memnet6_train_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='VIDDETMixSampler', ratios=vid_det_ratios),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(**vid_train, item_type='video', pipeline=memnet6_train_pipeline),
            dict(**det_train, item_type='video', pipeline=memnet6_train_pipeline),
        ]))

val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='VideoShardSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/imagenet_vid_val.json',
        data_prefix=dict(img_path='Data/'),
        test_mode=True,
        item_type='frame',
        backend_args=backend_args,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='VIDMetric')
test_evaluator = val_evaluator
