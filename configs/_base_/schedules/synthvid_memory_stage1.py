# First stage of the memory training protocol of Deng et al. (ICCV 2019,
# Sec. 4.1) on SynthVID: the memory is added to the single-frame R-FCN-18 and
# only the memory is trained; the detector is frozen (frozen_modules, so its
# parameters get no gradient and its BatchNorm keeps the running statistics of
# the single-frame training). The backbone then runs without a backward pass,
# which makes the long memory-only schedule cheap.
# Second stage, end to end: synthvid_memory_stage2.py. The memory configs set
# `model.frozen_modules = ['detector']` and take the baseline from
# `baseline_checkpoint` (the shipped 12-epoch R-FCN-18).
_base_ = '../../rfcn/rfcn_r18-dc5_1xb4-4e_synthvid.py'

baseline_checkpoint = 'checkpoints/rfcn_r18-dc5_1xb4-12e_synthvid-ffeba89b.pth'
memory_iters = 500

train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=memory_iters, val_interval=memory_iters)
# log(lambda) of an object guided memory learns at 10x the rate, so that
# lambda can change by a large factor within the stage (ExternalMemoryAggregator
# .temperature_param); the object guided memory's own stage
# (synthvid_memory_stage1_sgd500.py) uses SGD. Without an object guided memory
# the key matches no parameter and is ignored. The warped memories train their
# (pre-trained) FlowNetS here with AdamW.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=10.0, norm_type=2),
    paramwise_cfg=dict(custom_keys={'log_temperature': dict(lr_mult=10.0, decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=memory_iters,
         milestones=[int(memory_iters * 0.8)], gamma=0.1),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=memory_iters,
                    max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
