# The same-budget control of the object guided memories on SynthVID: the
# second-stage config (ogem-*_rfcn_r18-dc5_1xb2-mem500-e2e300_synthvid.py) with
# the memory removed. The same clips (2 x 4 frames at most 20 apart, each frame
# a detection loss), iterations, optimiser, frozen BatchNorm and seeds, from
# the single-frame baseline.
_base_ = '../_base_/schedules/synthvid_memory_stage2.py'
detector = _base_.model
detector.init_cfg = dict(type='Pretrained', checkpoint=_base_.baseline_checkpoint)
model = dict(_delete_=True, type='MemoryVideoDetector', detector=detector)
train_dataloader = _base_.ogem_heldout_train_dataloader
