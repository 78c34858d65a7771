"""The memory video detector: wrapping, online order, per-video state."""
import copy

import pytest
import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmdet.structures import TrackDataSample

import mmvid_memory  # noqa: F401
from mmvid_memory.models.memory import BaseVideoMemory, MemoryState

from ._tiny_detectors import make_frame, tiny_faster_rcnn, tiny_retinanet


class SumState(MemoryState):

    def __init__(self):
        self.reset()

    def reset(self):
        self.total = None
        self.writes = 0
        self.frames = []

    def stats(self):
        return {'rows': float(self.writes)}


@MODELS.register_module(force=True)
class MeanVectorMemory(BaseVideoMemory):
    """Test memory: adds a learnable multiple of the mean written vector."""

    def __init__(self, level='pixel', init_cfg=None):
        super().__init__(level=level, init_cfg=init_cfg)
        self.gain = nn.Parameter(torch.tensor(0.5))

    def new_state(self):
        return SumState()

    def read(self, feat, state, ctx):
        if state.total is None:
            return feat
        vec = state.total / state.writes
        shape = (1, -1, 1, 1) if feat.dim() == 4 else (1, -1) + (1,) * (feat.dim() - 2)
        if vec.numel() != feat.shape[1]:
            return feat
        return feat + self.gain * vec.view(shape)

    def write(self, state, ctx):
        feat = ctx.read_feat if self.level == 'pixel' else ctx.roi_feats
        if feat is None or feat.shape[0] == 0:
            return
        dims = [d for d in range(feat.dim()) if d != 1]
        vec = feat.mean(dim=dims)
        state.total = vec if state.total is None else state.total + vec
        state.writes += 1
        state.frames.append(ctx.frame_id)


def build(detector_cfg, **kwargs):
    torch.manual_seed(0)
    model = MODELS.build(dict(type='MemoryVideoDetector', detector=detector_cfg, **kwargs))
    model.eval()
    return model


def run_frames(model, frames):
    """Preprocess and predict frames one batch each; returns bboxes/scores per frame."""
    outs = []
    with torch.no_grad():
        for img, sample in frames:
            data = model.data_preprocessor(dict(inputs=[img], data_samples=[copy.deepcopy(sample)]))
            res = model(**data, mode='predict')[0]
            outs.append(torch.cat([res.pred_instances.bboxes,
                                   res.pred_instances.scores[:, None]], dim=1))
    return outs


def video(video_id, length=4, **kw):
    return [make_frame(video_id, t, length, **kw) for t in range(length)]


def assert_same(outs_a, outs_b):
    assert len(outs_a) == len(outs_b)
    for a, b in zip(outs_a, outs_b):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b)


def test_without_memory_equals_wrapped_detector():
    model = build(tiny_faster_rcnn())
    torch.manual_seed(0)
    plain = MODELS.build(tiny_faster_rcnn())
    plain.load_state_dict(model.detector.state_dict())
    plain.eval()
    frames = video(0, 3)
    wrapped = run_frames(model, frames)
    with torch.no_grad():
        for (img, sample), got in zip(frames, wrapped):
            data = plain.data_preprocessor(dict(inputs=[img], data_samples=[copy.deepcopy(sample)]))
            res = plain(**data, mode='predict')[0]
            expect = torch.cat([res.pred_instances.bboxes, res.pred_instances.scores[:, None]], 1)
            torch.testing.assert_close(got, expect)
    # and the same losses
    model.train()
    plain.train()
    img, sample = frames[0]
    data = plain.data_preprocessor(dict(inputs=[img], data_samples=[copy.deepcopy(sample)]), True)
    torch.manual_seed(1)
    expect = plain(**data, mode='loss')
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[copy.deepcopy(sample)]), True)
    torch.manual_seed(1)
    got = model(**data, mode='loss')
    for key in expect:
        if 'loss' in key:
            torch.testing.assert_close(sum(got[key]) if isinstance(got[key], list) else got[key],
                                       sum(expect[key]) if isinstance(expect[key], list)
                                       else expect[key])


@pytest.mark.parametrize('memories', [
    dict(pixel_memory=dict(type='MeanVectorMemory')),
    dict(pixel_memory=dict(type='MeanVectorMemory'), instance_memory=dict(type='MeanVectorMemory')),
])
def test_interleaved_videos_and_repeat_runs(memories):
    model = build(tiny_faster_rcnn(), **memories)
    video_a, video_b = video(1, 4), video(2, 4)
    alone_a = run_frames(model, video_a)
    alone_b = run_frames(model, video_b)
    assert len(model.state_bank) == 0, 'states must be dropped after the last frame'
    interleaved = run_frames(model, [f for pair in zip(video_a, video_b) for f in pair])
    assert_same(alone_a, interleaved[0::2])
    assert_same(alone_b, interleaved[1::2])
    assert_same(alone_a, run_frames(model, video_a))
    # memory changes the output after the first frame
    no_mem = build(tiny_faster_rcnn())
    no_mem.detector.load_state_dict(model.detector.state_dict())
    plain = run_frames(no_mem, video_a)
    torch.testing.assert_close(plain[0], alone_a[0])
    assert any(p.shape != a.shape or not torch.allclose(p, a) for p, a in zip(plain[1:], alone_a[1:]))


def test_frames_out_of_order_raise():
    model = build(tiny_faster_rcnn(), pixel_memory=dict(type='MeanVectorMemory'))
    frames = video(3, 5)
    run_frames(model, frames[:3])
    with pytest.raises(ValueError, match='frame 1 arrived after frame 2'):
        run_frames(model, [frames[1]])


def test_missing_video_metainfo_is_named():
    model = build(tiny_faster_rcnn(), pixel_memory=dict(type='MeanVectorMemory'))
    img, sample = make_frame(0, 0, 1)
    meta = dict(sample.metainfo)
    meta.pop('video_id')
    from mmdet.structures import DetDataSample
    bare = DetDataSample(metainfo=meta)
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[bare]))
    with pytest.raises(KeyError, match='video_id'):
        model(**data, mode='predict')


def test_clip_training_reads_memory_with_gradients():
    model = build(tiny_faster_rcnn(), pixel_memory=dict(type='MeanVectorMemory'),
                  instance_memory=dict(type='MeanVectorMemory'))
    model.train()
    clips, samples = [], []
    for vid in (5, 6):
        frames = video(vid, 3)
        clips.append(torch.stack([img for img, _ in frames]))
        track = TrackDataSample()
        track.video_data_samples = [s for _, s in frames]
        samples.append(track)
    data = model.data_preprocessor(dict(inputs=clips, data_samples=samples), True)
    assert data['inputs'].shape[:2] == (2, 3)
    losses = model(**data, mode='loss')
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss)
    loss.backward()
    assert model.pixel_memory.gain.grad is not None and model.pixel_memory.gain.grad != 0
    assert model.instance_memory.gain.grad is not None


def test_single_stage_detector_takes_pixel_memory():
    model = build(tiny_retinanet(), pixel_memory=dict(type='MeanVectorMemory'))
    outs = run_frames(model, video(7, 3))
    assert len(outs) == 3
    with pytest.raises(TypeError, match='two-stage'):
        build(tiny_retinanet(), instance_memory=dict(type='MeanVectorMemory'))


def test_speed_mode_writes_key_frames_only_and_rescales_boxes():
    model = build(tiny_faster_rcnn(), pixel_memory=dict(type='MeanVectorMemory'),
                  test_cfg=dict(key_frame_interval=3, non_key_scale=0.5))
    frames = video(8, 7, size=(64, 96))
    vstate = model.new_video_state(8)
    with torch.no_grad():
        for img, sample in frames:
            data = model.data_preprocessor(dict(inputs=[img], data_samples=[copy.deepcopy(sample)]))
            res = model.predict_frame(data['inputs'], data['data_samples'][0], vstate)
            boxes = res.pred_instances.bboxes
            if len(boxes):
                assert boxes[:, 2].max() <= 96 + 1e-3 and boxes[:, 3].max() <= 64 + 1e-3
            assert res.metainfo['is_key_frame'] == (sample.metainfo['frame_id'] % 3 == 0)
    assert vstate.points['pixel.0'].frames == [0, 3, 6]


def test_bad_configs_are_named():
    with pytest.raises(AttributeError, match='instance_point'):
        build(tiny_faster_rcnn(), instance_memory=dict(type='MeanVectorMemory'),
              instance_point='roi_head.not_there')
    with pytest.raises(ValueError, match='non_key_scale'):
        build(tiny_faster_rcnn(), test_cfg=dict(non_key_scale=0))


@pytest.mark.parametrize('where, cfg, typo, known', [
    ('test_cfg', dict(key_frame_intervall=5), "'key_frame_intervall' -> 'key_frame_interval'?",
     'box_propagation, key_frame_interval, non_key_scale'),
    ('test_cfg', dict(key_frame_interval=5, non_key_scal=0.5), "'non_key_scal' -> "
     "'non_key_scale'?", 'box_propagation, key_frame_interval, non_key_scale'),
    ('train_cfg', dict(write_memroy=False), "'write_memroy' -> 'write_memory'?",
     'non_key_prob, non_key_scale, write_memory'),
])
def test_unknown_cfg_keys_name_the_known_ones(where, cfg, typo, known):
    """A typo used to run silently at full scale under a speed-mode label."""
    with pytest.raises(ValueError, match=f'MemoryVideoDetector {where} has unknown key') as info:
        build(tiny_faster_rcnn(), **{where: cfg})
    assert typo in str(info.value) and f'known keys: {known}' in str(info.value)


def test_unknown_keys_in_nested_cfg_dicts():
    from mmvid_memory.utils.cfg_keys import UnknownConfigKeyError
    with pytest.raises(UnknownConfigKeyError, match=r"box_propagation has unknown key\(s\) "
                                                    r"\['dleta'\].*known keys: clip, delta"):
        build(tiny_faster_rcnn(), test_cfg=dict(box_propagation=dict(dleta=2)))
    with pytest.raises(UnknownConfigKeyError, match=r"MemNetWarper propagation has unknown "
                                                    r"key\(s\) \['windwo'\]"):
        MODELS.build(dict(type='MemNetWarper', propagation=dict(delta=2, windwo=4)))
    with pytest.raises(UnknownConfigKeyError, match="'checkpont' -> 'checkpoint'"):
        MODELS.build(dict(type='FlowNetS', base_channels=4, feature_stride=16,
                          init_cfg=dict(type='Pretrained', checkpont='x.pth'))).init_weights()
    with pytest.raises(UnknownConfigKeyError, match=r'level_weights .* unknown key\(s\) \[2\]'):
        MODELS.build(dict(type='FlowNetPretrainer', level_weights={6: 1.0, 2: 1.0},
                          flow_net=dict(type='FlowNetS', base_channels=4, feature_stride=16)))
    from mmvid_memory.models.detectors.fast_strong_detector import detector_model_cfg
    with pytest.raises(UnknownConfigKeyError, match="fast \\+ strong: `strong` has unknown key"):
        detector_model_cfg(dict(model=tiny_faster_rcnn(), checkpiont='s.pth'), 'strong')
