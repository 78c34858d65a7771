# OGEM at pixel and instance level on mmdet's Faster R-CNN R-50-FPN
# (mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py's model; its COCO data
# set is replaced by ImageNet VID + DET, 30 classes), to show the memory mixed
# into another detector than R-FCN (issue 6).
# * Pixel memory on the FPN levels at stride >= 16 (P4, P5, P6), one memory
#   per level: at strides 4 and 8 a 600 x 1000 frame has 37.5K / 9.4K
#   locations and the read's attention (rows x locations) would not fit.
# * Instance memory on the RoIs' 1024-d embedding after the first shared fc
#   (the input of `shared_fcs.1`, which feeds classifier and box regressor):
#   on the 256 x 7 x 7 RoIAlign features W_V alone would be 12544^2 ~ 157M weights.
# Deng et al. trains no Faster R-CNN: the schedule is not the seed's. End to end
# from the ImageNet-pretrained ResNet-50 on Deng et al.'s clips (4 frames of a video
# at most 20 apart, one clip per iteration), 60K iterations of SGD at lr 0.005
# (mmdet's 0.02 for 16 images, scaled to 4), divided by 10 at 40K and 53K.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/imagenet_vid_fgfa_style.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmvid_memory'], allow_failed_imports=False)
default_scope = 'mmdet'
max_iters = 60000

detector = _base_.model
detector.roi_head.bbox_head.num_classes = 30
model = dict(
    _delete_=True,
    type='MemoryVideoDetector',
    detector=detector,
    pixel_memory=dict(type='ExternalMemoryAggregator', in_channels=256, num_heads=8,
                      embed_channels=32, score_thr=0.9, sim_thr=0.47, max_objects_per_class=10),
    pixel_levels=[2, 3, 4],
    instance_memory=dict(type='ExternalMemoryAggregator', in_channels=1024, num_heads=8,
                         embed_channels=32),
    instance_point='roi_head.bbox_head.shared_fcs.1',
    test_cfg=dict(key_frame_interval=1, non_key_scale=1.0))

train_dataloader = _base_.ogem_train_dataloader

train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.005, momentum=0.9, weight_decay=0.0001))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[40000, 53000], gamma=0.1),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=10000, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=1)
