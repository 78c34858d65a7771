# ClockNet (strides 1, 4, 8, mean) of Vu et al. on the SynthVID R-FCN-18, first stage: the
# memory alone (its FlowNetS) is trained by the detection loss on the frozen
# single-frame baseline, 500 iterations of 1 clip of 16 consecutive frames.
# Second stage: clocknet_rfcn_r18-dc5_1xb1-mem500-e2e300_synthvid.py
_base_ = [
    '../_base_/schedules/synthvid_memory_stage1.py',
    '../_base_/models/warp_memory_rfcn_r18-dc5_synthvid.py',
]
detector = _base_.model
detector.init_cfg = dict(type='Pretrained', checkpoint=_base_.baseline_checkpoint)
model = dict(
    _delete_=True,
    type='MemoryVideoDetector',
    detector=detector,
    pixel_memory=_base_.clocknet_memory,
    frozen_modules=['detector'])
train_dataloader = _base_.clock16_heldout_train_dataloader
