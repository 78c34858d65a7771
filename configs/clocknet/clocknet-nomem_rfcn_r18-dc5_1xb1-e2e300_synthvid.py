# The same-budget control of ClockNet on SynthVID: the second-stage config
# (clocknet_rfcn_r18-dc5_1xb1-mem500-e2e300_synthvid.py) with the memory removed. The same
# clips (1 clip of 16 consecutive frames, each frame a detection loss), iterations, optimiser,
# frozen BatchNorm and seeds, from the single-frame baseline.
_base_ = '../_base_/schedules/synthvid_memory_stage2.py'
detector = _base_.model
detector.init_cfg = dict(type='Pretrained', checkpoint=_base_.baseline_checkpoint)
model = dict(_delete_=True, type='MemoryVideoDetector', detector=detector)
train_dataloader = _base_.clock16_heldout_train_dataloader
