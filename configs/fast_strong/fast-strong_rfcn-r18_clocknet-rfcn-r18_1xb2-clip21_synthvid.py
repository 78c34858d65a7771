# Fast + strong on SynthVID (Vu et al., Sec. 5.3 in shape), trained in the
# state it is used in. The strong detector is the two-stage SynthVID ClockNet
# (clocknet_rfcn_r18-dc5_1xb1-mem500-e2e300_synthvid.py), run every 4 frames
# and used 4 frames late; the fast one is the shipped R-FCN-18 baseline,
# fine-tuned (ClockNet frozen, BatchNorm frozen) on clips of 21 consecutive
# held-out frames: the strong detector runs, with one memory, on the clip's
# frames with frame_id % 4 == 0 available at the last frame t, as at test time,
# and the newest of them is fused at t. (The two-frame clips of
# fast-strong_rfcn-r18_clocknet-rfcn-r18_synthvid.py fuse features of an empty
# memory, which testing never sees.)
#   python tools/train.py THIS_CONFIG --cfg-options model.strong.checkpoint=CLOCKNET_CKPT
#   python tools/analysis_tools/eval_fast_strong.py THIS_CONFIG work_dirs/<stem>/iter_300.pth
_base_ = '../_base_/schedules/synthvid_memory_stage2.py'

interval = 4
delay = 4
fast = dict(model=_base_.model, checkpoint=_base_.baseline_checkpoint)
strong = dict(
    config='configs/clocknet/clocknet_rfcn_r18-dc5_1xb1-mem500-e2e300_synthvid.py',
    checkpoint='work_dirs/clocknet_rfcn_r18-dc5_1xb1-mem500-e2e300_synthvid/iter_300.pth')
model = dict(
    _delete_=True, type='FastStrongDetector', fast=fast, strong=strong, interval=interval,
    delay=delay, flow_net='strong')
# The fast heads must learn maps half made of another network's features: the
# learning rate of the earlier fast + strong fine-tune, not the memories' 5e-5.
optim_wrapper = dict(optimizer=dict(lr=3e-4))
clip_length = 4 * interval + delay + 1
train_dataloader = dict(
    _delete_=True,
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        **_base_.heldout_train_dataset, item_type='video',
        pipeline=[
            dict(type='VideoClipSample', num_frames=clip_length, mode='consecutive'),
            _base_.clip_frame_transforms,
            dict(type='PackTrackInputs'),
        ]))
