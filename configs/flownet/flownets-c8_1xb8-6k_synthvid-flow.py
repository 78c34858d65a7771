# FlowNetS pre-training on SynthVID-Flow, in the place of Vu et al.'s FlowNet
# pre-trained on Flying Chairs (no FlowNet weights can be downloaded here).
# Pairs of SynthVID training videos 1-8 frames apart with their exact
# displacement fields (mmvid_memory.datasets.synthvid.flow_pairs), FlowNet's
# multi-scale EPE loss (levels 6-3), Adam. The network and its input
# normalisation are those of the SynthVID MemNet / ClockNet configs, which load
# the result through flow_net.init_cfg (prefix 'flow_net.').
#   python tools/train.py configs/flownet/flownets-c8_1xb8-6k_synthvid-flow.py
#   python tools/test.py configs/flownet/flownets-c8_1xb8-6k_synthvid-flow.py CKPT
_base_ = ['../_base_/default_runtime.py']
custom_imports = dict(imports=['mmvid_memory'], allow_failed_imports=False)

detector_preprocessor = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                             bgr_to_rgb=True)  # configs/_base_/models/rfcn_r50-dc5.py
model = dict(
    type='FlowNetPretrainer',
    data_preprocessor=dict(type='FlowPairDataPreprocessor', **detector_preprocessor),
    flow_net=dict(type='FlowNetS', base_channels=8, feature_stride=16, downsample=2,
                  zero_init_last=False),
    # FlowNet's weights (0.32 .. 0.01, coarse first) reversed: the stride-16
    # output is what the memories warp with.
    level_weights={6: 0.02, 5: 0.04, 4: 0.08, 3: 0.32})

dataset_type = 'SynthVIDFlowDataset'
data_root = 'data/synthvid_flow/'
synthvid_flow_params = dict()  # ensure_synthvid_flow's defaults: 200 train, 20 val videos
train_pipeline = [
    dict(type='LoadFlowPair'),
    dict(type='RandomFlowFlip', prob=0.5),
    # Larger motions than SynthVID's few pixels a frame, or the network learns
    # to predict zero (tried: 0.1747 EPE against 0.1730 for zero after 1000 iters).
    dict(type='RandomFlowTranslate', max_shift=16, prob=0.5),
    dict(type='PackFlowInputs'),
]
test_pipeline = [dict(type='LoadFlowPair'), dict(type='PackFlowInputs')]
train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/synthvid_flow_train.json',
                 synthvid_flow_params=synthvid_flow_params, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='annotations/synthvid_flow_val.json', test_mode=True,
                 synthvid_flow_params=synthvid_flow_params, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='FlowEPEMetric')
test_evaluator = val_evaluator

# 6000 iterations, 8 min on 2 CPU cores: the val EPE is above the zero field's
# up to 2000 iterations and falls below it from 3000 (docs/memory_warps.md).
max_iters = 6000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.999)),
                     clip_grad=dict(max_norm=10.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
         milestones=[4000, 5000], gamma=0.5),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=1,
                    save_best='flow/epe', rule='less'))
log_processor = dict(by_epoch=False)
visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
