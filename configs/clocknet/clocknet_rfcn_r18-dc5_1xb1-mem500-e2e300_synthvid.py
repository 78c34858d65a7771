# ClockNet (strides 1, 4, 8, mean) of Vu et al. on the SynthVID R-FCN-18, second stage: the whole
# network end to end, 300 iterations of 1 clip of 16 consecutive frames, BatchNorm frozen,
# from clocknet_rfcn_r18-dc5_1xb1-mem500_synthvid.py (override with --cfg-options
# load_from=PATH). The model to test; its same-budget control is
# clocknet-nomem_rfcn_r18-dc5_1xb1-e2e300_synthvid.py.
_base_ = [
    '../_base_/schedules/synthvid_memory_stage2.py',
    '../_base_/models/warp_memory_rfcn_r18-dc5_synthvid.py',
]
load_from = 'work_dirs/clocknet_rfcn_r18-dc5_1xb1-mem500_synthvid/iter_500.pth'
model = dict(
    _delete_=True,
    type='MemoryVideoDetector',
    detector=_base_.model,
    pixel_memory=_base_.clocknet_memory)
train_dataloader = _base_.clock16_heldout_train_dataloader
