# R-FCN, ResNet-101, the single-frame baseline of Deng et al. (section 4.1, Table 1:
# 73.8 mAP on ImageNet VID val).
# Training: ImageNet VID + the 30 VID classes of ImageNet DET, one image per
# iteration, shorter side 600 / longer <= 1000, 200K iterations of SGD
# (momentum 0.9, weight decay 0.0005) at lr 0.0005, then 0.00005 from 120K.
# Deng et al. states one image per batch; with more GPUs use --auto-scale-lr
# (linear scaling from a batch of 1) or keep lr and shorten the schedule.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/rfcn_r50-dc5.py',
    '../_base_/datasets/imagenet_vid_fgfa_style.py',
]
custom_imports = dict(imports=['mmvid_memory'], allow_failed_imports=False)
default_scope = 'mmdet'

model = dict(
    backbone=dict(
        depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))

train_dataloader = dict(batch_size=1)

train_cfg = dict(type='IterBasedTrainLoop', max_iters=200000, val_interval=200000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.0005, momentum=0.9, weight_decay=0.0005))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=200000, milestones=[120000],
         gamma=0.1),
]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=20000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)

auto_scale_lr = dict(enable=False, base_batch_size=1)
