# ClockNet on R-FCN-101, ImageNet VID (Vu et al., Table 1: 75.6 mAP; the strong
# detector "ClockNet-101" of Table 3): memories at temporal strides 1, 4, 8
# (the seed's best, k = 1, 3, 4), each warped from its anchor to every frame
# (N_F = N_W = 3), the output their mean. Same schedule as MemNet-6.
_base_ = '../memnet/memnet-mean_rfcn_r101-dc5_1xb4-2e_imagenetvid.py'
model = dict(pixel_memory=dict(
    _delete_=True, type='ClockNetAggregator', strides=(1, 4, 8), flow_net=_base_.flow_net,
    aggregation='mean', in_channels=1024, evidence_drop_prob=0.8, share_flows=False))
