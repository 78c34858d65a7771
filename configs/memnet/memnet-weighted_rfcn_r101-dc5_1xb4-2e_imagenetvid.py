# MemNet with the learned per-pixel weighting (Vu et al., Eq. 4) on R-FCN-101, ImageNet VID.
_base_ = './memnet-mean_rfcn_r101-dc5_1xb4-2e_imagenetvid.py'
model = dict(pixel_memory=dict(aggregation='weighted', aggregation_hidden_channels=256))
