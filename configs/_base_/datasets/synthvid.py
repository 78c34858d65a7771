# SynthVID, the embedded synthetic video data set, in CocoVID form.
# Generated on first use under data_root (git-ignored) by
# mmvid_memory.datasets.synthvid.ensure_synthvid(data_root, **synthvid_params);
# tools/train.py and tools/test.py call it for every dataset that carries
# `synthvid_params`.
#
# Train loaders:
#   train_dataloader           single frames (the still-image baseline)
#   ogem_train_dataloader      clips of 4 frames at most 20 apart (Deng et al.)
#   memnet3_train_dataloader   3 consecutive frames (Vu et al., MemNet-3)
#   memnet6_train_dataloader   6 consecutive frames (Vu et al., MemNet-6)
#   clock16_train_dataloader   16 consecutive frames: a stride-8 ClockNet memory
#                              is updated at least once after the clip's first
#                              frame and ages through 0..7, as at test time
#   *_heldout_train_dataloader the clip loaders on held-out training videos
#                              (the memories' two-stage protocol, see below)
# pick one in a model config with `train_dataloader = _base_.ogem_train_dataloader`
# (the variants carry `_delete_=True`, so they replace the frame loader whole).
# Testing is frame by frame, video after video, whole videos per rank.
dataset_type = 'SynthVIDDataset'
data_root = 'data/synthvid/'
synthvid_params = dict()  # ensure_synthvid's defaults: 400 train, 80 val videos
img_scale = (160, 160)  # SynthVID frames are 160 px: keep-ratio resize is a no-op
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadTrackAnnotations'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    # Full hue rotation and channel swaps: SynthVID's colours carry no class.
    dict(type='PhotoMetricDistortion', hue_delta=180),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackVideoFrameInputs'),
]
# The same random flip for every frame of a clip.
clip_frame_transforms = dict(
    type='TransformBroadcaster',
    share_random_params=True,
    transforms=[
        dict(type='LoadImageFromFile', backend_args=backend_args),
        dict(type='LoadTrackAnnotations'),
        dict(type='Resize', scale=img_scale, keep_ratio=True),
        dict(type='PhotoMetricDistortion', hue_delta=180),
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
clock16_train_pipeline = [
    dict(type='VideoClipSample', num_frames=16, mode='consecutive'),
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

train_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='annotations/synthvid_train.json',
    data_prefix=dict(img_path='Data/'),
    filter_cfg=dict(filter_empty_gt=True),
    synthvid_params=synthvid_params,
    backend_args=backend_args)

train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    # 6 evenly spaced key frames per video and epoch: neighbouring frames
    # repeat each other, new videos do not.
    dataset=dict(**train_dataset, item_type='frame', key_frames_per_video=6,
                 pipeline=train_pipeline))
ogem_train_dataloader = dict(
    _delete_=True,
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**train_dataset, item_type='video', pipeline=ogem_train_pipeline))
memnet3_train_dataloader = dict(
    _delete_=True,
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**train_dataset, item_type='video', pipeline=memnet3_train_pipeline))
memnet6_train_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**train_dataset, item_type='video', pipeline=memnet6_train_pipeline))
clock16_train_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**train_dataset, item_type='video', pipeline=clock16_train_pipeline))

# Held-out training videos for the memories: SynthVID with another seed (400
# videos the single-frame baseline never saw, generated into their own folder).
# On its own training videos the 12-epoch baseline scores 84 mAP (val: 42), so
# a memory trained there learns that it has nothing to add and is switched off
# by training; on held-out clips the detector errs as it does at test time.
heldout_train_dataset = dict(
    train_dataset, data_root='data/synthvid_heldout/',
    synthvid_params=dict(synthvid_params, seed=1, val_videos=0))
ogem_heldout_train_dataloader = dict(
    ogem_train_dataloader,
    dataset=dict(**heldout_train_dataset, item_type='video', pipeline=ogem_train_pipeline))
memnet3_heldout_train_dataloader = dict(
    memnet3_train_dataloader,
    dataset=dict(**heldout_train_dataset, item_type='video', pipeline=memnet3_train_pipeline))
clock16_heldout_train_dataloader = dict(
    clock16_train_dataloader,
    dataset=dict(**heldout_train_dataset, item_type='video', pipeline=clock16_train_pipeline))

val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='VideoShardSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/synthvid_val.json',
        data_prefix=dict(img_path='Data/'),
        test_mode=True,
        item_type='frame',
        synthvid_params=synthvid_params,
        backend_args=backend_args,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='VIDMetric')
test_evaluator = val_evaluator
