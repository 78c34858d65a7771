# Object guided external memory at pixel and instance level on the SynthVID
# R-FCN-18, first stage of Deng et al.'s protocol (Sec. 4.1): the memory alone
# is trained (SGD), 500 iterations of 2 clips of 4 frames at most 20 apart, on the
# frozen single-frame baseline. Second stage:
#   ogem-pix-inst_rfcn_r18-dc5_1xb2-mem500-e2e300_synthvid.py
_base_ = [
    '../_base_/schedules/synthvid_memory_stage1_sgd500.py',
    '../_base_/models/ogem_rfcn_r18-dc5_synthvid.py',
]
detector = _base_.model
detector.init_cfg = dict(type='Pretrained', checkpoint=_base_.baseline_checkpoint)
model = dict(
    _delete_=True,
    type='MemoryVideoDetector',
    detector=detector,
    pixel_memory=_base_.ogem_pixel_memory,
    instance_memory=_base_.ogem_instance_memory,
    instance_point='roi_head.bbox_head',
    frozen_modules=['detector'])
train_dataloader = _base_.ogem_heldout_train_dataloader
