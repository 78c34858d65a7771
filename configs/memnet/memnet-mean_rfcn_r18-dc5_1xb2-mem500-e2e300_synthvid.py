# MemNet (mean aggregation, Eq. 3) of Vu et al. on the SynthVID R-FCN-18, second stage: the whole
# network end to end, 300 iterations of 2 clips of 3 consecutive frames (MemNet-3), BatchNorm frozen,
# from memnet-mean_rfcn_r18-dc5_1xb2-mem500_synthvid.py (override with --cfg-options
# load_from=PATH). The model to test; its same-budget control is
# memnet-nomem_rfcn_r18-dc5_1xb2-e2e300_synthvid.py.
_base_ = [
    '../_base_/schedules/synthvid_memory_stage2.py',
    '../_base_/models/warp_memory_rfcn_r18-dc5_synthvid.py',
]
load_from = 'work_dirs/memnet-mean_rfcn_r18-dc5_1xb2-mem500_synthvid/iter_500.pth'
model = dict(
    _delete_=True,
    type='MemoryVideoDetector',
    detector=_base_.model,
    pixel_memory=_base_.memnet_memory)
train_dataloader = _base_.memnet3_heldout_train_dataloader
