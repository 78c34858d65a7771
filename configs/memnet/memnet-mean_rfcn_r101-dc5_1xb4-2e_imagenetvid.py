# MemNet on R-FCN-101, the ImageNet VID setting of Vu et al. (Sec. 5, Table 1):
# ResNet-101 with a trous conv5 (stride 16), the 3x3 reduce conv + ReLU
# (1024 channels) before the memory, a full-width FlowNetS (base 64) trained
# end to end, sequences of 6 frames (MemNet-6) with image evidence dropped with
# p = 0.8, ImageNet VID + DET mixed as in FGFA, 2 epochs at lr 0.001 divided by
# 10 after 4/3 of them (batch 4, the seed's 4 GPUs; with other batch sizes use
# --auto-scale-lr). Starts from the single-frame R-FCN-101
#   tools/train.py configs/rfcn/rfcn_r101-dc5_1xb1-200k_imagenetvid.py
# and a FlowNetS checkpoint when one is at hand (flownet_checkpoint; the seed
# fine-tunes a FlowNet trained on Flying Chairs, see docs/memory_warps.md).
# The seed's "epoch" is one pass over FGFA's VID + DET mix; as the mix here is
# drawn by VIDDETMixSampler, the schedule is counted in iterations:
# 2 epochs ~ 2 x 57K VID+DET items / batch 4 ~ 29K iterations (an estimate).
_base_ = '../rfcn/rfcn_r101-dc5_1xb1-200k_imagenetvid.py'

baseline_checkpoint = 'work_dirs/rfcn_r101-dc5_1xb1-200k_imagenetvid/iter_200000.pth'
flownet_checkpoint = None  # e.g. 'checkpoints/FlowNet2-S_checkpoint.pth.tar'
max_iters = 29000

detector = _base_.model
detector.backbone.init_cfg = None
detector.init_cfg = dict(type='Pretrained', checkpoint=baseline_checkpoint)
flow_net = dict(
    type='FlowNetS', base_channels=64, feature_stride=16, downsample=2,
    # A FlowNet checkpoint expects (img - mean) / 255 (FlowNet2, FGFA).
    input_scale=58.395 / 255,
    init_cfg=(None if flownet_checkpoint is None else
              dict(type='Pretrained', checkpoint=flownet_checkpoint, prefix='')))
model = dict(
    _delete_=True,
    type='MemoryVideoDetector',
    detector=detector,
    pixel_memory=dict(
        type='MemNetWarper', flow_net=flow_net, aggregation='mean', in_channels=1024,
        evidence_drop_prob=0.8))

train_dataloader = _base_.memnet6_train_dataloader
train_dataloader.batch_size = 1

train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=0.0005))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[max_iters * 2 // 3], gamma=0.1),
]
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=5000, max_keep_ckpts=3))
auto_scale_lr = dict(enable=False, base_batch_size=4)
