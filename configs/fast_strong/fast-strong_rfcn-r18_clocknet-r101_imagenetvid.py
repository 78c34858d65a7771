# Fast + strong (Vu et al., Sec. 4.2 / 5.3, Table 3: R-FCN-18 + ClockNet-101-FeatProp,
# 71.9 mAP at the 14.3 fps of R-FCN-18 alone, 60.2 mAP). R-FCN-18 detects every
# frame; ClockNet-101 runs every `interval` frames in a helper thread; its features,
# `delay` frames late, are warped to the current frame by ClockNet's flow network
# and averaged with R-FCN-18's (1024 channels both) before R-FCN-18's heads.
# The seed trains R-FCN-18 on the fixed ClockNet-101 features (ClockNet is not
# fine-tuned): `tools/train.py` this config trains the fast detector on clips of
# two frames (s, t), t - s in [1, interval + delay - 1].
#   evaluate: python tools/analysis_tools/eval_fast_strong.py THIS_CONFIG [CKPT]
#   test loop (deterministic): python tools/test.py THIS_CONFIG CKPT
_base_ = '../rfcn/rfcn_r18-dc5_1xb1-200k_imagenetvid.py'

interval = 4  # ClockNet-101 takes image evidence once every 4 frames (seed, Sec. 5.3)
delay = 4     # Δ: frames until a strong result is used (deterministic mode)
fast = dict(config='configs/rfcn/rfcn_r18-dc5_1xb1-200k_imagenetvid.py',
            checkpoint='work_dirs/rfcn_r18-dc5_1xb1-200k_imagenetvid/iter_200000.pth')
strong = dict(config='configs/clocknet/clocknet_rfcn_r101-dc5_1xb4-2e_imagenetvid.py',
              checkpoint='work_dirs/clocknet_rfcn_r101-dc5_1xb4-2e_imagenetvid/iter_29000.pth')
model = dict(
    _delete_=True, type='FastStrongDetector', fast=fast, strong=strong, interval=interval,
    delay=delay, flow_net='strong')

fast_strong_train_pipeline = [
    dict(type='VideoClipSample', num_frames=2, mode='interval',
         max_interval=interval + delay - 1, key_position='last'),
    _base_.clip_frame_transforms,
    dict(type='PackTrackInputs'),
]
train_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='VIDDETMixSampler', ratios=_base_.vid_det_ratios),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(**_base_.vid_train, item_type='video', pipeline=fast_strong_train_pipeline),
            dict(**_base_.det_train, item_type='video', pipeline=fast_strong_train_pipeline),
        ]))
