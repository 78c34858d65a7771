# The small SynthVID R-FCN-18 with the fine-tuning schedule of the memory
# detectors on SynthVID (Deng et al., Sec. 4.1:
# R-FCN first, then the memory is added and the network trained end to end on
# clips). The wrapped R-FCN starts from the shipped single-frame baseline
# (checkpoints/README.md: trained by
#   tools/train.py configs/rfcn/rfcn_r18-dc5_1xb4-12e_synthvid.py
# and published with tools/misc/publish_model.py; an installed package finds
# it inside itself when the working directory has no checkpoints/ folder).
# Override with --cfg-options model.detector.init_cfg.checkpoint=PATH.
# The baseline row it is compared with gets the same extra iterations on single
# frames: configs/rfcn/rfcn_r18-dc5_1xb8-ft300_synthvid.py.
_base_ = '../../rfcn/rfcn_r18-dc5_1xb4-4e_synthvid.py'

baseline_checkpoint = 'checkpoints/rfcn_r18-dc5_1xb4-12e_synthvid-ffeba89b.pth'
finetune_iters = 300

train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=finetune_iters,
    val_interval=finetune_iters)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=3e-4, weight_decay=1e-4),
    clip_grad=dict(max_norm=10.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=30),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=finetune_iters,
         milestones=[int(finetune_iters * 0.8)], gamma=0.1),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=finetune_iters,
                    max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
