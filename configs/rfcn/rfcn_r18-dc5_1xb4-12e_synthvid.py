# R-FCN-18 (half width) on SynthVID from scratch, 12 epochs: the single-frame
# baseline that the SynthVID memory detectors start from and are compared with.
# The 4-epoch schedule (rfcn_r18-dc5_1xb4-4e_synthvid.py) stops at about 20 VID
# mAP, where detections are rarely confident enough for an object-guided write;
# 12 epochs reach about 50 (docs/rfcn.md). 7200 iterations, about 25 min on 2
# CPU cores.
_base_ = './rfcn_r18-dc5_1xb4-4e_synthvid.py'

max_epochs = 12
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=200),
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=max_epochs, milestones=[10], gamma=0.1),
]
