# ClockNet on SynthVID with the generator's exact displacement field in place
# of the FlowNetS: an upper bound (how much do the memory warps give when the
# flow is right?). Two uses:
# - test a ClockNet trained with its own FlowNetS (its flow weights are unused):
#     python tools/test.py configs/clocknet/clocknet_rfcn_r18-dc5_synthvid_oracle-flow.py \
#         work_dirs/clocknet_rfcn_r18-dc5_synthvid/iter_300.pth
# - train with the exact field too (training frames come from the train split;
#   the field is not mirrored, so this config trains without flips):
#     python tools/train.py configs/clocknet/clocknet_rfcn_r18-dc5_synthvid_oracle-flow.py
# For another SynthVID folder set model.pixel_memory.flow_net.data_root with the data_root.
_base_ = './clocknet_rfcn_r18-dc5_synthvid.py'
model = dict(pixel_memory=dict(
    flow_loss_weight=0.0, flow_smooth_weight=0.0,
    flow_net=dict(_delete_=True, type='SynthVIDOracleFlow', data_root=_base_.data_root,
                  split='val', train_split='train')))
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='VideoClipSample', num_frames=6, mode='consecutive'),
    dict(type='TransformBroadcaster', share_random_params=True, transforms=[
        dict(type='LoadImageFromFile', backend_args=None),
        dict(type='LoadTrackAnnotations'),
        dict(type='Resize', scale=(160, 160), keep_ratio=True),
        dict(type='PhotoMetricDistortion', hue_delta=180),
    ]),
    dict(type='PackTrackInputs'),
]))
