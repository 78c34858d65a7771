# Object guided external memory (Deng et al.) at pixel and instance level on the
# small SynthVID R-FCN-18: clips of 4 frames at most 20 apart, fine-tuned from
# the single-frame baseline (see ../_base_/schedules/synthvid_memory_finetune.py).
_base_ = '../_base_/schedules/synthvid_memory_finetune.py'
detector = _base_.model
detector.init_cfg = dict(type='Pretrained', checkpoint=_base_.baseline_checkpoint)
# R-FCN's pooled position-sensitive features: (C + 1 + 4) x 7 x 7 = 13 x 49 for 8
# classes; 7 heads divide every k = 7 R-FCN (8 do not).
num_roi_feat_channels = (8 + 1 + 4) * 7 * 7
# tau = 0.9, the seed's value. The 4-epoch baseline of stop 10 (19.7 mAP) never
# scored an object above 0.9, so those configs used 0.3; on the 12-epoch baseline
# (50.0 mAP) 0.3 fills pixel memory with about 24 objects and 320 rows a frame
# (3 feature maps of 100 locations; training clips see far fewer), and the
# pix+inst model trained at 0.3 scored 44.2 tested at 0.3 and 52.3 tested at 0.9
# (SynthVID val, 2026-12-01, stop 11 notes).
synthvid_score_thr = 0.9
model = dict(
    _delete_=True,
    type='MemoryVideoDetector',
    detector=detector,
    pixel_memory=dict(type='ExternalMemoryAggregator', in_channels=256, num_heads=8,
                      embed_channels=32, score_thr=synthvid_score_thr, sim_thr=0.47, max_objects_per_class=10),
    instance_memory=dict(type='ExternalMemoryAggregator', in_channels=num_roi_feat_channels,
                         num_heads=7, embed_channels=32),
    instance_point='roi_head.bbox_head',
    test_cfg=dict(key_frame_interval=1, non_key_scale=1.0))
train_dataloader = _base_.ogem_train_dataloader
