# ClockNet (Vu et al., Sec. 3.3): memories at temporal strides 1, 4 and 8 (the
# seed's best, k = 1, 3, 4), each warped to every frame and updated with image
# evidence every stride frames; the output is their mean.
_base_ = '../memnet/memnet-mean_rfcn_r18-dc5_synthvid.py'
model = dict(pixel_memory=dict(_delete_=True,
    type='ClockNetAggregator', strides=(1, 4, 8), flow_net=_base_.flow_net, aggregation='mean',
    in_channels=256, evidence_drop_prob=0.8, flow_loss_weight=1.0, flow_smooth_weight=0.1))
train_dataloader = _base_.memnet6_train_dataloader
train_dataloader.batch_size = 1
