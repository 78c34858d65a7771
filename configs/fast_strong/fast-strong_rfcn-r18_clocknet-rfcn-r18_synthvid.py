# Fast + strong on SynthVID (Vu et al., Sec. 5.3 in shape): the small R-FCN-18
# (half width) detects every frame; the SynthVID ClockNet (R-FCN-18, strides
# 1, 4, 8) runs every `interval` frames; its features, `delay` frames late, are
# warped to the current frame by ClockNet's flow network and averaged with the
# fast detector's (256 channels both) before the fast heads.
#
# The fast detector is the shipped R-FCN-18 baseline (checkpoints/); the strong
# ClockNet comes from its SynthVID fine-tuning run, which ships no checkpoint
# (override with --cfg-options model.fast.checkpoint=... model.strong.checkpoint=...).
# Without training the fast detector on the fused features its heads see maps
# they were not trained on (two separately trained networks' channels do not
# correspond), so, as in the seed (R-FCN-18 trained on the fixed ClockNet-101 features),
#   python tools/train.py THIS_CONFIG
# fine-tunes the fast detector (ClockNet frozen) on clips of two frames (s, t),
# t - s in [1, interval + delay - 1]; then
#   python tools/analysis_tools/eval_fast_strong.py THIS_CONFIG work_dirs/<stem>/iter_300.pth
#   python tools/test.py THIS_CONFIG work_dirs/<stem>/iter_300.pth   (deterministic mode)
_base_ = '../_base_/schedules/synthvid_memory_finetune.py'

interval = 4
delay = 4
fast = dict(config='configs/rfcn/rfcn_r18-dc5_1xb4-12e_synthvid.py',
            checkpoint=_base_.baseline_checkpoint)
strong = dict(config='configs/clocknet/clocknet_rfcn_r18-dc5_synthvid.py',
              checkpoint='work_dirs/demo/clocknet_rfcn_r18-dc5_synthvid/iter_300.pth')
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
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**_base_.train_dataset, item_type='video', pipeline=fast_strong_train_pipeline))
