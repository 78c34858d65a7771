"""The fast + strong detector and its online runner on tiny untrained models."""
import copy
import threading

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import TrackDataSample

import mmvid_memory  # noqa: F401
from mmvid_memory.apis import FastStrongRunner
from mmvid_memory.models.detectors.fast_strong_detector import fuse_strong_features
from mmvid_memory.models.detectors.memory_video_detector import detector_heads_predict
from mmvid_memory.models.memory import flow_warp
from tests.test_models._tiny_detectors import make_frame, tiny_faster_rcnn

TINY_FLOW = dict(type='FlowNetS', base_channels=4, feature_stride=16, zero_init_last=False)


def fast_cfg(channels=16):
    det = tiny_faster_rcnn().to_dict()
    det['test_cfg']['rcnn']['max_per_img'] = 5
    if channels != 16:
        det['neck']['out_channels'] = channels
        det['rpn_head'].update(in_channels=channels, feat_channels=channels)
        det['roi_head']['bbox_roi_extractor']['out_channels'] = channels
        det['roi_head']['bbox_head']['in_channels'] = channels
    return det


def strong_cfg():
    return dict(type='MemoryVideoDetector', detector=fast_cfg(),
                pixel_memory=dict(type='MemNetWarper', flow_net=TINY_FLOW))


def build(interval=2, delay=1, fast_channels=16):
    torch.manual_seed(0)
    return MODELS.build(dict(type='FastStrongDetector', fast=dict(model=fast_cfg(fast_channels)),
                             strong=dict(model=strong_cfg()), interval=interval,
                             delay=delay)).eval()


def frames(model, video_id, length):
    out = []
    for t in range(length):
        img, sample = make_frame(video_id, t, length)
        data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]))
        out.append((data['inputs'], data['data_samples'][0]))
    return out


def boxes(samples):
    return [torch.cat([s.pred_instances.bboxes, s.pred_instances.scores[:, None]], 1)
            for s in samples]


def test_deterministic_mode_equals_manual_computation():
    model = build(interval=2, delay=1)
    video = frames(model, 1, 6)
    with torch.no_grad():
        got = [model(inputs=img, data_samples=[copy.deepcopy(s)], mode='predict')[0]
               for img, s in video]
        # By hand: the strong memory sees frames 0, 2, 4; frame t uses the newest s <= t - 1.
        strong_state = model.strong.new_video_state(1)
        strong_feats = {}
        for s in (0, 2, 4):
            img, sample = video[s]
            strong_state.advance(s)
            feats = model.strong.extract_feat(img)
            ctx = model.strong._make_ctx(img, sample, is_key=True)
            strong_feats[s] = model.strong._read_pixels(feats, strong_state, ctx)[0]
        expected = []
        for t, (img, sample) in enumerate(video):
            feats = list(model.fast.extract_feat(img))
            used = [s for s in strong_feats if s + 1 <= t]
            if used:
                s = max(used)
                flow = model.warp_flow_net(img, video[s][0], out_size=feats[0].shape[-2:])
                feats[0] = (feats[0] + flow_warp(strong_feats[s], flow)) / 2
            expected.append(detector_heads_predict(model.fast, tuple(feats),
                                                   [copy.deepcopy(sample)], True)[0])
    for g, e in zip(got, expected):
        torch.testing.assert_close(g.pred_instances.bboxes, e.bboxes)
        torch.testing.assert_close(g.pred_instances.scores, e.scores)
    ages = [g.metainfo['memory_stats']['fast_strong.strong_age'] for g in got]
    assert ages == [-1, 1, 2, 1, 2, 1]
    # The runner's deterministic mode gives the same as the test loop.
    with FastStrongRunner(model, mode='deterministic') as runner:
        runner.start_video(1)
        with torch.no_grad():
            again = [runner.push(img, copy.deepcopy(s)) for img, s in video]
    for a, b in zip(boxes(got), boxes(again)):
        torch.testing.assert_close(a, b)


def test_strong_state_resets_between_videos():
    model = build()
    with torch.no_grad():
        for img, s in frames(model, 1, 5):  # video 1, then video 2 on the same model
            model(inputs=img, data_samples=[s], mode='predict')
        after = [model(inputs=img, data_samples=[s], mode='predict')[0]
                 for img, s in frames(model, 2, 5)]
        fresh_model = build()
        fresh = [fresh_model(inputs=img, data_samples=[s], mode='predict')[0]
                 for img, s in frames(fresh_model, 2, 5)]
    for a, b in zip(boxes(after), boxes(fresh)):
        torch.testing.assert_close(a, b)
    runner = FastStrongRunner(model)
    with torch.no_grad():
        runner.start_video(1)
        for img, s in frames(model, 1, 3):
            runner.push(img, s)
        runner.start_video(2)
        assert runner.state.latest is None and runner.state.strong_runs == 0
        assert runner.state.strong_state.num_frames_seen == 0
    runner.close()


def test_thread_mode_runs_and_closes_cleanly():
    model = build(interval=2)
    runner = FastStrongRunner(model, mode='thread')
    with torch.no_grad():
        for video_id in (1, 2):
            runner.start_video(video_id)
            outs = [runner.push(img, s) for img, s in frames(model, video_id, 6)]
            assert all(len(o.pred_instances.bboxes) <= 5 for o in outs)
            # Frame 0 fuses nothing or its own strong result, when the strong
            # thread already finished it; never one of the previous video.
            first = outs[0].metainfo['memory_stats']
            assert (first['fast_strong.fused'], first['fast_strong.strong_age']) in \
                ((0.0, -1.0), (1.0, 0.0)), first
    summary = runner.summary()
    assert summary['frames'] == 12 and 0.0 <= summary['fused_share'] < 1.0
    runner.close()
    runner.close()
    assert not any(t.name.startswith('strong') for t in threading.enumerate())
    with pytest.raises(RuntimeError, match='start_video'):
        runner.push(*frames(model, 3, 1)[0])


def test_mismatched_channels_raise_a_clear_error():
    model = build(fast_channels=8)
    with pytest.raises(ValueError, match='8 channels.*16'):
        with torch.no_grad():
            for img, s in frames(model, 1, 3):
                model(inputs=img, data_samples=[s], mode='predict')
    with pytest.raises(ValueError, match='same feature stride'):
        fuse_strong_features(torch.zeros(1, 4, 5, 5), torch.zeros(1, 4, 6, 6),
                             torch.zeros(1, 2, 5, 5))


def test_loss_trains_the_fast_detector_only():
    model = build(interval=2).train()
    clips, samples = [], []
    for vid in (1, 2):
        pair = [make_frame(vid, t, 4) for t in (0, 2)]
        clips.append(torch.stack([img for img, _ in pair]))
        track = TrackDataSample()
        track.video_data_samples = [s for _, s in pair]
        samples.append(track)
    data = model.data_preprocessor(dict(inputs=clips, data_samples=samples), True)
    loss, _ = model.parse_losses(model(**data, mode='loss'))
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.fast.parameters())
    assert all(p.grad is None for p in model.strong.parameters())
    assert not model.strong.training


def test_bad_specs_raise_clear_errors():
    with pytest.raises(ValueError, match='`fast` must be'):
        MODELS.build(dict(type='FastStrongDetector', fast=dict(), strong=dict(model=strong_cfg())))
    with pytest.raises(ValueError, match="flow_net='strong'"):
        MODELS.build(dict(type='FastStrongDetector', fast=dict(model=fast_cfg()),
                          strong=dict(model=fast_cfg())))
    with pytest.raises(ValueError, match='interval'):
        MODELS.build(dict(type='FastStrongDetector', fast=dict(model=fast_cfg()),
                          strong=dict(model=strong_cfg()), interval=0))


def test_part_checkpoints_must_fit(tmp_path):
    """mmengine's Pretrained initialiser loads what fits and says nothing; a strong
    checkpoint of another model left the strong detector at random weights."""
    from mmengine.config import ConfigDict

    from mmvid_memory.utils import CheckpointMismatchError
    strong = MODELS.build(strong_cfg())
    good = str(tmp_path / 'strong.pth')
    torch.save(dict(state_dict=strong.state_dict()), good)
    fast_only = str(tmp_path / 'fast.pth')
    torch.save(dict(state_dict=MODELS.build(ConfigDict(fast_cfg())).state_dict()), fast_only)

    def build_with(path, **extra):
        return MODELS.build(dict(type='FastStrongDetector', fast=dict(model=fast_cfg()),
                                 strong=dict(model=strong_cfg(), checkpoint=path, **extra)))

    model = build_with(good)
    model.init_weights()
    for key, value in strong.state_dict().items():
        torch.testing.assert_close(model.strong.state_dict()[key], value)
    with pytest.raises(CheckpointMismatchError, match=r"fast.pth \(fast \+ strong `strong`"):
        build_with(fast_only).init_weights()
    build_with(fast_only, strict=False).init_weights()  # the explicit opt-out


def test_long_clips_train_with_the_strong_memory_of_testing():
    model = build(interval=2, delay=1)
    assert model.training_strong_frames([0, 3]) == [0]
    # Frames 0..5, t = 5: strong frames 0, 2, 4 are available at 5 - delay = 4.
    assert model.training_strong_frames([0, 1, 2, 3, 4, 5]) == [0, 2, 4]
    assert model.training_strong_frames([1, 2, 3]) == [1]  # 2 is not available at 3 - 1
    assert model.training_strong_frames([3, 5, 7]) == [0]  # none: the first frame
    # The features fused at t in training are those the deterministic test fuses.
    video = frames(model, 1, 6)
    vstate = model.new_video_state(1)
    with torch.no_grad():
        for img, sample in video[:5]:
            model.predict_frame(img, copy.deepcopy(sample), vstate)
    state = vstate.points['fast_strong']
    test_strong = state.collect(5)
    strong_state = model.new_point_states()['fast_strong'].strong_state
    for i in model.training_strong_frames(list(range(6))):
        train_strong = model.strong_features(video[i][0], video[i][1], strong_state, 0)
    assert train_strong.frame_id == test_strong.frame_id == 4
    torch.testing.assert_close(train_strong.feat, test_strong.feat)
    # A loss on such a clip runs and trains the fast detector.
    model.train()
    clip = TrackDataSample()
    clip.video_data_samples = [copy.deepcopy(make_frame(1, t, 6)[1]) for t in range(6)]
    data = model.data_preprocessor(
        dict(inputs=[torch.stack([make_frame(1, t, 6)[0] for t in range(6)])],
             data_samples=[clip]), True)
    loss, _ = model.parse_losses(model(**data, mode='loss'))
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.fast.parameters())
