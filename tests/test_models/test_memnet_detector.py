"""MemNet and ClockNet inside the memory video detector (tiny mmdet models)."""
import copy

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import TrackDataSample

import mmvid_memory  # noqa: F401

from ._tiny_detectors import make_frame, tiny_faster_rcnn, tiny_retinanet

TINY_FLOW = dict(type='FlowNetS', base_channels=4, feature_stride=16, zero_init_last=False)



def build(detector_cfg, memory_cfg):
    torch.manual_seed(0)
    return MODELS.build(dict(type='MemoryVideoDetector', detector=detector_cfg,
                             pixel_memory=memory_cfg))


def clip_batch(model, video_ids, length=3):
    clips, samples = [], []
    for vid in video_ids:
        frames = [make_frame(vid, t, length) for t in range(length)]
        clips.append(torch.stack([img for img, _ in frames]))
        track = TrackDataSample()
        track.video_data_samples = [s for _, s in frames]
        samples.append(track)
    return model.data_preprocessor(dict(inputs=clips, data_samples=samples), True)


def predict_video(model, video_id, length=4):
    outs = []
    with torch.no_grad():
        for t in range(length):
            img, sample = make_frame(video_id, t, length)
            data = model.data_preprocessor(dict(inputs=[img], data_samples=[copy.deepcopy(sample)]))
            res = model(**data, mode='predict')[0]
            pred = res.pred_instances
            outs.append(torch.cat([pred.bboxes, pred.scores[:, None]], 1))
            stats = res.metainfo['memory_stats']
    return outs, stats


@pytest.mark.parametrize('memory', [
    dict(type='MemNetWarper', flow_net=TINY_FLOW, aggregation='weighted', in_channels=16,
         aggregation_hidden_channels=8),
    dict(type='ClockNetAggregator', strides=(1, 2), flow_net=TINY_FLOW),
])
def test_clip_loss_trains_the_flow_net_end_to_end(memory):
    model = build(tiny_faster_rcnn(), dict(memory, evidence_drop_prob=0.5))
    model.train()
    losses = model(**clip_batch(model, (1, 2)), mode='loss')
    loss, _ = model.parse_losses(losses)
    loss.backward()
    grads = [p.grad for p in model.pixel_memory.flow_net.parameters()]
    assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0


def test_predict_online_and_fpn_levels_share_one_field():
    model = build(tiny_faster_rcnn(), dict(type='MemNetWarper', flow_net=TINY_FLOW)).eval()
    alone, stats = predict_video(model, 3)
    # Five FPN levels, one state each; one network pass per frame in all.
    flows = sum(v for k, v in stats.items() if k.endswith('.flows'))
    warps = sum(v for k, v in stats.items() if k.endswith('.warps'))
    assert flows == 1 and warps == 5
    again, _ = predict_video(model, 3)
    for a, b in zip(alone, again):
        torch.testing.assert_close(a, b)


def test_single_stage_detector_with_clocknet():
    model = build(tiny_retinanet(), dict(type='ClockNetAggregator', flow_net=TINY_FLOW)).eval()
    outs, stats = predict_video(model, 4, length=3)
    assert len(outs) == 3 and stats['pixel.0.memory_maps'] == 3
