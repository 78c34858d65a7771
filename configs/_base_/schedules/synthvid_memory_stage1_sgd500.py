# The memory-only stage for the object guided memory: SGD with momentum, the
# optimiser of Deng et al. (Sec. 4.1), 500 iterations. With Adam, every entry
# of the c x c value projection W_V (identity at the start) moves by about the
# learning rate each step whatever its gradient, which scrambles it: on
# held-out SynthVID clips (2026-12-02, 80 val videos, pixel + instance memory)
# AdamW at lr 1e-3 fell from 45.1 mAP untrained to 28.2 after 500 iterations,
# at 1e-4 to 44.2; SGD at 1e-3 kept 44.8 (at 1e-2: 40.4). Training does not
# beat the tied, untrained start here; it moves lambda and keeps the
# mechanism (see docs/ogem.md).
_base_ = './synthvid_memory_stage1.py'

memory_iters = 500
train_cfg = dict(max_iters=memory_iters, val_interval=memory_iters)
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='SGD', lr=1e-3, momentum=0.9, weight_decay=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=memory_iters,
         milestones=[int(memory_iters * 0.8)], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=memory_iters))
