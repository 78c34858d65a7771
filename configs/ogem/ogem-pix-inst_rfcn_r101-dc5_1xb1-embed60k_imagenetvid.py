# Object guided external memory (Deng et al.) at pixel and instance level on the
# ImageNet VID R-FCN-101, first training stage (Deng et al., Sec. 4.1): the memory
# is added to the single-frame R-FCN
#   tools/train.py configs/rfcn/rfcn_r101-dc5_1xb1-200k_imagenetvid.py
# and only its embedding weights (W_Q, W_K, W_V, lambda) are trained, 60K
# iterations at lr 0.0001; each iteration is one clip of 4 frames of a video
# at most 20 frames apart (DET images repeated 4 times). The detector's
# parameters get lr 0 (lr_mult=0; SGD then leaves them as they are, also under
# DDP). Second stage, end to end:
#   ogem-pix-inst_rfcn_r101-dc5_1xb1-embed60k-e2e10k_imagenetvid.py
_base_ = '../rfcn/rfcn_r101-dc5_1xb1-200k_imagenetvid.py'

baseline_checkpoint = 'work_dirs/rfcn_r101-dc5_1xb1-200k_imagenetvid/iter_200000.pth'
embed_iters = 60000

detector = _base_.model
detector.backbone.init_cfg = None
detector.init_cfg = dict(type='Pretrained', checkpoint=baseline_checkpoint)
# R-FCN's pooled position-sensitive maps, class and box parts: (C + 1 + 4) x 7 x 7
# = 35 x 49 = 1715 for the 30 classes; 8 heads do not divide it, 7 do.
num_roi_feat_channels = (30 + 1 + 4) * 7 * 7
model = dict(
    _delete_=True,
    type='MemoryVideoDetector',
    detector=detector,
    # the 1024-d map after the dilated reduce conv (Deng et al., Sec. 4.1)
    pixel_memory=dict(type='ExternalMemoryAggregator', in_channels=1024, num_heads=8,
                      embed_channels=32, score_thr=0.9, sim_thr=0.47, max_objects_per_class=10),
    instance_memory=dict(type='ExternalMemoryAggregator', in_channels=num_roi_feat_channels,
                         num_heads=7, embed_channels=32),
    instance_point='roi_head.bbox_head',
    test_cfg=dict(key_frame_interval=1, non_key_scale=1.0))

train_dataloader = _base_.ogem_train_dataloader

train_cfg = dict(type='IterBasedTrainLoop', max_iters=embed_iters, val_interval=embed_iters)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.0001, momentum=0.9, weight_decay=0.0005),
    paramwise_cfg=dict(custom_keys={'detector.': dict(lr_mult=0.0, decay_mult=0.0)}))
param_scheduler = []  # constant lr
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=10000, max_keep_ckpts=2))
