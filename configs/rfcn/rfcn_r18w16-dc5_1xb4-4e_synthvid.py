# A cheaper fast detector for the SynthVID fast + strong pair: the small R-FCN-18
# at a quarter of ResNet-18's width (base 16: 128 channels at conv5) with the same
# 256-channel reduce conv, so its map can be averaged with the R-FCN-18 memory
# detectors' (configs/fast_strong/). Same schedule as the half-width baseline.
_base_ = './rfcn_r18-dc5_1xb4-4e_synthvid.py'
model = dict(backbone=dict(base_channels=16), neck=dict(in_channels=128))
