# R-FCN-18 (half width) on SynthVID from scratch: the single-frame baseline the
# memory detectors on SynthVID are compared with. Trains on 2 CPU cores in
# minutes. AdamW, because SGD from scratch needs many more iterations.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/rfcn_r18-dc5_synthvid.py',
    '../_base_/datasets/synthvid.py',
]
custom_imports = dict(imports=['mmvid_memory'], allow_failed_imports=False)
default_scope = 'mmdet'

max_epochs = 4
train_dataloader = dict(batch_size=4, num_workers=1)
val_dataloader = dict(num_workers=1)
test_dataloader = val_dataloader

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=10.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=200),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=max_epochs, milestones=[3], gamma=0.1),
]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=1))

auto_scale_lr = dict(enable=False, base_batch_size=4)
