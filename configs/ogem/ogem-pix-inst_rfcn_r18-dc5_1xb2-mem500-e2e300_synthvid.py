# Object guided external memory at pixel and instance level on the SynthVID
# R-FCN-18, second stage of Deng et al.'s protocol (Sec. 4.1): the whole
# network end to end, 300 iterations of 2 clips of 4 frames, BatchNorm frozen,
# starting from the memory-only stage
#   ogem-pix-inst_rfcn_r18-dc5_1xb2-mem500_synthvid.py
# (override with --cfg-options load_from=PATH). This is the model to test. Its
# same-budget control is ogem-nomem_rfcn_r18-dc5_1xb2-e2e300_synthvid.py.
_base_ = [
    '../_base_/schedules/synthvid_memory_stage2.py',
    '../_base_/models/ogem_rfcn_r18-dc5_synthvid.py',
]
load_from = 'work_dirs/ogem-pix-inst_rfcn_r18-dc5_1xb2-mem500_synthvid/iter_500.pth'
model = dict(
    _delete_=True,
    type='MemoryVideoDetector',
    detector=_base_.model,
    pixel_memory=_base_.ogem_pixel_memory,
    instance_memory=_base_.ogem_instance_memory,
    instance_point='roi_head.bbox_head')
train_dataloader = _base_.ogem_heldout_train_dataloader
