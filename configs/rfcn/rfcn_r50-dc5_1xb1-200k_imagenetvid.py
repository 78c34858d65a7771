# R-FCN, ResNet-50: the ImageNet VID setting of Deng et al. (see the ResNet-101
# config) with a ResNet-50 backbone.
_base_ = './rfcn_r101-dc5_1xb1-200k_imagenetvid.py'

model = dict(
    backbone=dict(
        depth=50, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')))
