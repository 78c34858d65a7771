# The memory-warp modules (Vu et al., Memory Warps) for the SynthVID R-FCN-18:
# a FlowNetS at 1/8 width on the stride-16 map, starting from its pre-training
# on SynthVID-Flow's exact fields (configs/flownet/, shipped in checkpoints/;
# the paper's Flying Chairs stage) and then trained by the detection loss
# alone, as in the paper.
#
# Evidence: the paper drops a training frame's image evidence with p = 0.8; a
# clip of T frames then keeps all of it with probability 0.2^(T-1), so the
# state of normal inference (evidence on every frame) is almost never trained.
# Half of the training clips keep every frame's evidence here (an option
# beyond the paper, evidence_keep_clip_prob).
flownet_checkpoint = 'checkpoints/flownets-c8_1xb8-6k_synthvid-flow-9d326fc2.pth'
warp_flow_net = dict(
    type='FlowNetS', base_channels=8, feature_stride=16, downsample=2,
    init_cfg=dict(type='Pretrained', checkpoint=flownet_checkpoint, prefix='flow_net.'))
memnet_memory = dict(
    type='MemNetWarper', flow_net=warp_flow_net, aggregation='mean', in_channels=256,
    evidence_drop_prob=0.8, evidence_keep_clip_prob=0.5)
clocknet_memory = dict(
    type='ClockNetAggregator', strides=(1, 4, 8), flow_net=warp_flow_net, aggregation='mean',
    in_channels=256, evidence_drop_prob=0.8, evidence_keep_clip_prob=0.5)
