# R-FCN-18 (Vu et al., section 4.2): the fast detector of the fast + strong
# two-thread setup, in the ImageNet VID setting of Deng et al. The reduce conv
# still makes 1024 channels, so its map has the dimensionality of the
# ResNet-101 detectors' features that are warped in and averaged with it.
_base_ = './rfcn_r101-dc5_1xb1-200k_imagenetvid.py'

model = dict(
    backbone=dict(
        depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(in_channels=512))
