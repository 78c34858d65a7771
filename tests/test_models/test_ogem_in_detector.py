"""ExternalMemoryAggregator inside the memory video detector (tiny Faster R-CNN)."""
import copy

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import TrackDataSample

import mmvid_memory  # noqa: F401
from mmvid_memory.models.memory import InstanceMemoryState, PixelMemoryState

from ._tiny_detectors import make_frame, tiny_faster_rcnn


@pytest.fixture
def model():
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='MemoryVideoDetector', detector=tiny_faster_rcnn(),
        # a random detector scores low: tau 0.3 so that objects get written
        pixel_memory=dict(type='ExternalMemoryAggregator', in_channels=16, score_thr=0.3),
        pixel_levels=[0],
        instance_memory=dict(type='ExternalMemoryAggregator', in_channels=16 * 7 * 7)))


def test_predict_writes_both_memories(model):
    model.eval()
    vstate = model.new_video_state(0)
    frames = [make_frame(0, t, 3) for t in range(3)]
    with torch.no_grad():
        for img, sample in frames:
            data = model.data_preprocessor(dict(inputs=[img], data_samples=[copy.deepcopy(sample)]))
            out = model.predict_frame(data['inputs'][0:1], data['data_samples'][0], vstate)
    pixel, instance = vstate.points['pixel.0'], vstate.points['instance']
    assert isinstance(pixel, PixelMemoryState) and isinstance(instance, InstanceMemoryState)
    assert pixel.num_rows > 0 and instance.num_rows > 0
    assert pixel.last_read.frame_id == 2 and pixel.last_read.attn_mean.shape[1] == 16 * 16
    stats = out.metainfo['memory_stats']
    assert stats['pixel.0.rows'] == pixel.num_rows and stats['instance.rows'] == instance.num_rows


def test_training_sends_gradients_to_the_memory_weights(model):
    model.train()
    frames = [make_frame(0, t, 3) for t in range(3)]
    clip = TrackDataSample()
    clip.video_data_samples = [copy.deepcopy(s) for _, s in frames]
    data = model.data_preprocessor(
        dict(inputs=[torch.stack([img for img, _ in frames])], data_samples=[clip]), True)
    losses = model(**data, mode='loss')
    total = sum(sum(v) if isinstance(v, list) else v for k, v in losses.items() if 'loss' in k)
    total.backward()
    for memory in (model.pixel_memory, model.instance_memory):
        for name in ('w_q', 'w_k', 'w_v', 'temperature'):
            grad = getattr(memory, name).grad
            assert grad is not None and grad.abs().sum() > 0, (memory.level, name)
