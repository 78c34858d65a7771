# The same-budget control of MemNet on SynthVID: the second-stage config
# (memnet-mean_rfcn_r18-dc5_1xb2-mem500-e2e300_synthvid.py) with the memory removed. The same
# clips (2 clips of 3 consecutive frames (MemNet-3), each frame a detection loss), iterations, optimiser,
# frozen BatchNorm and seeds, from the single-frame baseline.
_base_ = '../_base_/schedules/synthvid_memory_stage2.py'
detector = _base_.model
detector.init_cfg = dict(type='Pretrained', checkpoint=_base_.baseline_checkpoint)
model = dict(_delete_=True, type='MemoryVideoDetector', detector=detector)
train_dataloader = _base_.memnet3_heldout_train_dataloader
