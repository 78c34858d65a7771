"""Memory around mmdet's detector families: two-stage (Faster, Cascade R-CNN),
one-stage (RetinaNet, YOLOX, RTMDet) and DETR-family (Deformable DETR), with
tiny backbones. Each: a loss with backward on a 3-frame clip, a predict over 3
frames whose memory rows grow, and the speed mode on a 96 x 128 input; where a
memory cannot go, the build refuses with an error naming what to use."""
import copy

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import TrackDataSample

import mmvid_memory  # noqa: F401
from mmvid_memory.models.detectors.memory_video_detector import input_alignment
from mmvid_memory.models.memory import BaseVideoMemory, MemoryState

from ._tiny_detectors import (make_frame, tiny_cascade_rcnn, tiny_deformable_detr,
                              tiny_faster_rcnn, tiny_retinanet, tiny_rtmdet, tiny_yolox)


def ogem(channels):
    return dict(type='ExternalMemoryAggregator', in_channels=channels, num_heads=2,
                embed_channels=8)


class RowState(MemoryState):

    def __init__(self):
        self.reset()

    def reset(self):
        self.frames, self.total = [], None

    def stats(self):
        return {'rows': float(len(self.frames))}


@MODELS.register_module(force=True)
class RowPerFrameMemory(BaseVideoMemory):
    """Test memory: one row (the mean feature vector) per written frame, read
    back as a learnable multiple of the rows' mean, whatever the features
    look like (OGEM's own write rule may store nothing on an untrained
    detector's near-zero maps)."""

    def __init__(self, level='pixel', init_cfg=None):
        super().__init__(level=level, init_cfg=init_cfg)
        self.gain = torch.nn.Parameter(torch.tensor(0.5))

    def new_state(self):
        return RowState()

    def read(self, feat, state, ctx):
        if state.total is None or state.total.numel() != feat.shape[1]:
            return feat
        vec = (state.total / len(state.frames)).view((1, -1) + (1, ) * (feat.dim() - 2))
        return feat + self.gain * vec

    def write(self, state, ctx):
        feat = ctx.read_feat if self.level == 'pixel' else ctx.roi_feats
        if feat is None or feat.shape[0] == 0:
            return
        vec = feat.mean(dim=[d for d in range(feat.dim()) if d != 1])
        state.total = vec if state.total is None else state.total + vec
        state.frames.append(ctx.frame_id)


# name -> (detector config, channels of the maps the pixel memory reads,
#          instance point or None for detectors without RoI features)
DETECTORS = {
    'faster_rcnn': (tiny_faster_rcnn, 16, 'roi_head.bbox_head'),
    'cascade_rcnn': (tiny_cascade_rcnn, 16, 'roi_head.bbox_head.2'),
    'retinanet': (tiny_retinanet, 16, None),
    'yolox': (tiny_yolox, 32, None),
    'rtmdet': (tiny_rtmdet, 32, None),
    'deformable_detr': (tiny_deformable_detr, 32, None),
}


def build(name, memory='ogem', **extra):
    detector, channels, point = DETECTORS[name]
    make = ogem if memory == 'ogem' else (lambda c: dict(type='RowPerFrameMemory'))
    kwargs = dict(pixel_memory=make(channels))
    if point is not None:
        # RoI features (K, 16, 7, 7) read as vectors of 16*7*7
        kwargs.update(instance_memory=make(16 * 7 * 7), instance_point=point)
    kwargs.update(extra)
    torch.manual_seed(0)
    model = MODELS.build(dict(type='MemoryVideoDetector', detector=detector(), **kwargs))
    model.init_weights()  # the heads' own initialisation (YOLOX's priors keep boxes finite)
    return model


def clip_batch(model, size=(64, 96)):
    frames = [make_frame(3, t, 3, size=size) for t in range(3)]
    track = TrackDataSample()
    track.video_data_samples = [s for _, s in frames]
    clip = torch.stack([img for img, _ in frames])
    return model.data_preprocessor(dict(inputs=[clip], data_samples=[track]), True)


def memory_rows(stats):
    return {point: value for point, value in stats.items() if point.endswith('.rows')}


@pytest.mark.parametrize('name', list(DETECTORS))
def test_loss_backward_on_a_clip_reaches_the_memory(name):
    model = build(name)
    model.train()
    losses = model(**clip_batch(model), mode='loss')
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss)
    loss.backward()
    memories = [model.pixel_memory] + ([model.instance_memory]
                                       if model.instance_memory is not None else [])
    for memory in memories:
        grads = [p.grad for p in memory.parameters() if p.requires_grad]
        assert any(g is not None and g.abs().sum() > 0 for g in grads), \
            f'{name}: no gradient reached the {memory.level} memory'


@pytest.mark.parametrize('name', list(DETECTORS))
@pytest.mark.parametrize('speed_mode', [False, True], ids=['every-frame', 'key2-half'])
def test_predict_three_frames_memory_rows_grow(name, speed_mode):
    """Predict frame by frame: one memory row per key frame at every point (the
    half-size non-key frame of the speed mode only reads), boxes in the original
    frame's coordinates."""
    test_cfg = dict(key_frame_interval=2, non_key_scale=0.5) if speed_mode else {}
    model = build(name, memory='rows', test_cfg=test_cfg).eval()
    size = (96, 128)
    vstate = model.new_video_state(4)
    rows = []
    with torch.no_grad():
        for t in range(3):
            img, sample = make_frame(4, t, 3, size=size)
            data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]))
            result = model.predict_frame(data['inputs'], data['data_samples'][0], vstate)
            assert result.metainfo['is_key_frame'] == (not speed_mode or t % 2 == 0)
            boxes = result.pred_instances.bboxes  # untrained: some detectors find none
            if len(boxes):
                assert boxes[:, 2].max() <= size[1] + 1e-3
                assert boxes[:, 3].max() <= size[0] + 1e-3
            rows.append(memory_rows(result.metainfo['memory_stats']))
    points = {'pixel.0.rows'} | ({'instance.rows'} if model.instance_memory else set())
    assert points <= set(rows[0]), rows[0]
    key_frames_so_far = [1, 1, 2] if speed_mode else [1, 2, 3]
    for point in points:
        assert [r[point] for r in rows] == key_frames_so_far, f'{name}: {point}: {rows}'


def test_speed_mode_pads_the_half_size_frame_to_what_the_neck_needs():
    """RTMDet's preprocessor names no divisor: the alignment of the full-size
    input (32 for 96 x 128) is used; YOLOX's names 32; R-FCN's 16 stays 16."""
    assert input_alignment(96, 128, 1) == 32
    assert input_alignment(160, 160, 16) == 16
    assert input_alignment(100, 128, 1) == 4
    model = build('rtmdet', test_cfg=dict(key_frame_interval=2, non_key_scale=0.5)).eval()
    img, sample = make_frame(4, 1, 3, size=(96, 128))
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]))
    with torch.no_grad():
        result = model.predict_frame(data['inputs'], data['data_samples'][0],
                                     model.new_video_state(4))
    assert not result.metainfo['is_key_frame']


def test_cascade_instance_memory_on_the_stage_list_is_refused_with_the_stage_points():
    with pytest.raises(ValueError, match=r"'roi_head.bbox_head.0', 'roi_head.bbox_head.1', "
                                         r"'roi_head.bbox_head.2'"):
        build('cascade_rcnn', instance_point='roi_head.bbox_head')


def test_cascade_instance_memory_reads_at_the_named_stage_only():
    model = build('cascade_rcnn', pixel_memory=None).eval()
    calls = {i: 0 for i in range(3)}
    for i, head in enumerate(model.detector.roi_head.bbox_head):
        head.register_forward_pre_hook(lambda m, a, i=i: calls.__setitem__(i, calls[i] + 1))
    read = model.instance_memory.read
    seen = []
    model.instance_memory.read = lambda feat, state, ctx: seen.append(feat.shape) or read(
        feat, state, ctx)
    vstate = model.new_video_state(4)
    with torch.no_grad():
        for t in range(2):
            img, sample = make_frame(4, t, 2, size=(64, 96))
            data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]))
            model.predict_frame(data['inputs'], data['data_samples'][0], vstate)
    assert all(n == 2 for n in calls.values())  # every stage ran once a frame
    assert len(seen) == 2  # the memory read at stage 2 only, once a frame


@pytest.mark.parametrize('name', ['retinanet', 'yolox', 'rtmdet', 'deformable_detr'])
def test_instance_memory_without_roi_features_is_refused(name):
    with pytest.raises(TypeError, match='instance_memory needs a two-stage detector.*'
                                        'use pixel_memory'):
        build(name, instance_memory=ogem(32))


def test_wrapping_a_detector_without_known_heads_is_refused():
    cfg = copy.deepcopy(tiny_faster_rcnn())
    cfg.type = 'MaskFormer'
    with pytest.raises(Exception):
        MODELS.build(dict(type='MemoryVideoDetector', detector=cfg))
