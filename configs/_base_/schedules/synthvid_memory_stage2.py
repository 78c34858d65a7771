# Second stage of the memory training protocol of Deng et al. (ICCV 2019,
# Sec. 4.1) on SynthVID: the whole network end to end on clips, starting from
# the memory-only stage (synthvid_memory_stage1.py). BatchNorm stays frozen
# (norm_eval): clip batches hold frames of one or two videos, whose batch
# statistics are not those of the test frames. The same-budget control is the
# same config with the memory removed: the same clips, iterations, BatchNorm
# policy and seeds, starting from the baseline.
# lr 5e-5, half the baseline's last learning rate (the paper also halves it for
# this stage): at 3e-4 these 300 iterations of small clip batches cost the
# converged detector about 2 mAP on clean SynthVID frames, with or without a
# memory (2026-12-02, 80 val videos: MemNet 46.0 -> 43.8, the control 45.7 ->
# 44.7).
_base_ = '../../rfcn/rfcn_r18-dc5_1xb4-4e_synthvid.py'

baseline_checkpoint = 'checkpoints/rfcn_r18-dc5_1xb4-12e_synthvid-ffeba89b.pth'
e2e_iters = 300
model = dict(backbone=dict(norm_eval=True))

train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=e2e_iters, val_interval=e2e_iters)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-5, weight_decay=1e-4),
    clip_grad=dict(max_norm=10.0, norm_type=2),
    paramwise_cfg=dict(custom_keys={'log_temperature': dict(lr_mult=10.0, decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=30),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=e2e_iters,
         milestones=[int(e2e_iters * 0.8)], gamma=0.1),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=e2e_iters,
                    max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
