# ClockNet on SynthVID in Vu et al.'s protocol for the displacement network: a
# FlowNetS pre-trained with flow ground truth (here SynthVID-Flow, in the place
# of Flying Chairs; configs/flownet/flownets-c8_1xb8-6k_synthvid-flow.py, shipped
# in checkpoints/), then fine-tuned inside the detector by the detection loss
# alone (no photometric term, as in the seed).
_base_ = './clocknet_rfcn_r18-dc5_synthvid.py'
flownet_checkpoint = 'checkpoints/flownets-c8_1xb8-6k_synthvid-flow-9d326fc2.pth'
model = dict(pixel_memory=dict(
    flow_loss_weight=0.0, flow_smooth_weight=0.0,
    flow_net=dict(init_cfg=dict(type='Pretrained', checkpoint=flownet_checkpoint,
                                prefix='flow_net.'))))
