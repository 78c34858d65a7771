# MemNet (Vu et al., Eq. 1-3): a feature memory warped by a FlowNetS-style
# network and averaged with each frame, on the small SynthVID R-FCN-18.
# Trained on sequences of 3 consecutive frames (MemNet-3) with image evidence
# dropped with p = 0.8, fine-tuned from the single-frame baseline. The flow
# network trains from scratch here (no FlowNet weights can be downloaded), so
# a photometric + smoothness loss helps it find motion (not in the seed; set
# both weights to 0 for the seed's detection-loss-only training).
_base_ = '../_base_/schedules/synthvid_memory_finetune.py'
detector = _base_.model
detector.init_cfg = dict(type='Pretrained', checkpoint=_base_.baseline_checkpoint)
flow_net = dict(type='FlowNetS', base_channels=8, feature_stride=16, downsample=2)
model = dict(
    _delete_=True,
    type='MemoryVideoDetector',
    detector=detector,
    pixel_memory=dict(
        type='MemNetWarper', flow_net=flow_net, aggregation='mean', in_channels=256,
        evidence_drop_prob=0.8, flow_loss_weight=1.0, flow_smooth_weight=0.1))
train_dataloader = _base_.memnet3_train_dataloader
