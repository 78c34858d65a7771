"""The training protocol's levers: a frozen detector, log(lambda), clips that keep
their evidence, down-sampled non-key frames in training."""
import copy

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import TrackDataSample

import mmvid_memory  # noqa: F401
from mmvid_memory.models.detectors.memory_video_detector import resize_frame_input
from mmvid_memory.models.memory import (ClockNetAggregator, ExternalMemoryAggregator, FrameContext,
                                        MemNetWarper)

from ._tiny_detectors import make_frame, tiny_faster_rcnn
from .test_memnet import const_feats, ctx_for, run


def clip_batch(model, num_frames=3, video_id=0, size=(64, 64)):
    frames = [make_frame(video_id, t, num_frames, size=size) for t in range(num_frames)]
    clip = TrackDataSample()
    clip.video_data_samples = [copy.deepcopy(s) for _, s in frames]
    return model.data_preprocessor(
        dict(inputs=[torch.stack([img for img, _ in frames])], data_samples=[clip]), True)


def total_loss(losses):
    return sum(sum(v) if isinstance(v, list) else v for k, v in losses.items() if 'loss' in k)


def ogem_video_detector(**kwargs):
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='MemoryVideoDetector', detector=tiny_faster_rcnn(), pixel_levels=[0],
        pixel_memory=dict(type='ExternalMemoryAggregator', in_channels=16, score_thr=0.3,
                          temperature_param='log'),
        instance_memory=dict(type='ExternalMemoryAggregator', in_channels=16 * 7 * 7), **kwargs))


def test_frozen_detector_trains_the_memory_alone():
    model = ogem_video_detector(frozen_modules=['detector'])
    model.train()
    assert not model.detector.training and model.pixel_memory.training
    assert not any(p.requires_grad for p in model.detector.parameters())
    bn = model.detector.backbone.bn1
    running = bn.running_mean.clone()
    total_loss(model(**clip_batch(model), mode='loss')).backward()
    # BatchNorm keeps the single-frame statistics, the detector gets no gradient.
    assert torch.equal(bn.running_mean, running)
    assert all(p.grad is None for p in model.detector.parameters())
    for memory in (model.pixel_memory, model.instance_memory):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in memory.parameters())


def test_frozen_modules_names_are_checked():
    with pytest.raises(AttributeError, match="frozen_modules 'detector.neckk'"):
        ogem_video_detector(frozen_modules=['detector.neckk'])


def test_log_temperature_is_lambda_through_exp():
    memory = ExternalMemoryAggregator(in_channels=8, level='instance', num_heads=2,
                                      embed_channels=4, temperature_param='log',
                                      init_temperature=2.0)
    assert not hasattr(memory, 'temperature')
    assert memory.log_temperature.item() == pytest.approx(torch.log(torch.tensor(2.0)).item())
    assert memory.attention_temperature().item() == pytest.approx(2.0)
    state = memory.new_state()
    state.replace(torch.randn(5, 8), frame_id=0)
    out = memory.read(torch.randn(3, 8), state, ctx=FrameContext(frame_id=1))
    out.sum().backward()
    assert memory.log_temperature.grad is not None and memory.log_temperature.grad != 0
    linear = ExternalMemoryAggregator(in_channels=8, num_heads=2, embed_channels=4,
                                      init_temperature=2.0)
    assert linear.attention_temperature() is linear.temperature
    with pytest.raises(ValueError, match="'linear' or 'log'"):
        ExternalMemoryAggregator(in_channels=8, num_heads=2, temperature_param='exp')
    with pytest.raises(ValueError, match='init_temperature'):
        ExternalMemoryAggregator(in_channels=8, num_heads=2, init_temperature=0.0)


def test_log_temperature_gets_its_learning_rate_multiplier():
    from mmengine.optim import build_optim_wrapper
    model = ogem_video_detector(frozen_modules=['detector'])
    wrapper = build_optim_wrapper(model, dict(
        type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
        paramwise_cfg=dict(custom_keys={'log_temperature': dict(lr_mult=10.0, decay_mult=0.0)})))
    lam = model.pixel_memory.log_temperature
    group = next(g for g in wrapper.optimizer.param_groups if any(p is lam for p in g['params']))
    assert group['lr'] == pytest.approx(1e-2) and group['weight_decay'] == 0


@pytest.mark.parametrize('keep, expected_mode', [(1.0, 'evidence'), (0.0, 'warp_only')])
def test_clips_that_keep_their_evidence(keep, expected_mode):
    memory = MemNetWarper(flow_net=dict(type='HandShiftFlow'), evidence_drop_prob=1.0,
                          evidence_keep_clip_prob=keep).train()
    _, state = run(memory, const_feats([1, 3, 5]))
    assert state.keeps_all_evidence == (keep == 1.0)
    assert state.last_mode == expected_mode
    with pytest.raises(ValueError, match='evidence_keep_clip_prob'):
        MemNetWarper(flow_net=dict(type='HandShiftFlow'), evidence_keep_clip_prob=1.5)


def test_keep_rate_over_clips():
    memory = ClockNetAggregator(strides=(1, 2), flow_net=dict(type='HandShiftFlow'),
                                evidence_drop_prob=1.0, evidence_keep_clip_prob=0.5).train()
    torch.manual_seed(0)
    kept = sum(run(memory, const_feats([1, 2]))[1].keeps_all_evidence for _ in range(400))
    assert 0.4 < kept / 400 < 0.6
    # Tests never drop evidence, whatever the clip draw said.
    memory.eval()
    assert run(memory, const_feats([1, 2, 3]))[1].last_mode == 'evidence'


def test_warp_state_reports_current_weight_and_ages():
    memory = ClockNetAggregator(strides=(1, 4), flow_net=dict(type='HandShiftFlow')).eval()
    state = memory.new_state()
    weights, ages = [], []
    for t, feat in enumerate(const_feats([1, 2, 3, 4, 5, 6])):
        memory.read(feat, state, ctx_for(t))
        weights.append(state.last_current_weight)
        ages.append(state.memory_ages())
    # Frame 0 starts both memories (its own features only); the stride-1
    # memory takes half of F_t on every later frame, the stride-4 one on frame 4.
    assert weights == [1.0, 0.25, 0.25, 0.25, 0.5, 0.25]
    assert ages == [[0, 0], [0, 1], [0, 2], [0, 3], [0, 0], [0, 1]]
    stats = state.stats()
    assert stats['current_weight'] == 0.25 and stats['age.1'] == 1.0


def test_weighted_aggregation_reports_alpha_f():
    memory = MemNetWarper(flow_net=dict(type='HandShiftFlow'), aggregation='weighted',
                          in_channels=2).eval()
    _, state = run(memory, const_feats([1, 3]))
    assert state.last_current_weight == pytest.approx(0.5)  # zero-initialised scores


def test_resize_frame_input_scales_the_ground_truth():
    img, sample = make_frame(0, 0, 1, size=(64, 96))
    batch = img[None].float()
    resized, new = resize_frame_input(batch, sample, 0.5, with_gt=True)
    assert resized.shape[-2:] == (32, 48)
    torch.testing.assert_close(new.gt_instances.bboxes, sample.gt_instances.bboxes * 0.5)
    assert new.metainfo['batch_input_shape'] == (32, 48)
    _, untouched = resize_frame_input(batch, sample, 0.5)
    torch.testing.assert_close(untouched.gt_instances.bboxes, sample.gt_instances.bboxes)


def test_training_with_non_key_frames(monkeypatch):
    model = ogem_video_detector(train_cfg=dict(non_key_prob=1.0, non_key_scale=0.5))
    model.train()
    seen = []
    original = model._frame_loss

    def spy(img, feats, sample, vstate, write, frame_id, is_key=True):
        seen.append((tuple(img.shape[-2:]), is_key, tuple(feats[0].shape[-2:])))
        return original(img, feats, sample, vstate, write, frame_id, is_key)

    monkeypatch.setattr(model, '_frame_loss', spy)
    losses = model(**clip_batch(model, num_frames=3, size=(128, 128)), mode='loss')
    total_loss(losses).backward()
    # The first frame is a full-size key frame; the others are half-size and
    # read only (their features computed at that size).
    assert seen[0] == ((128, 128), True, (32, 32))
    assert seen[1:] == [((64, 64), False, (16, 16))] * 2
    with pytest.raises(ValueError, match='non_key_scale'):
        ogem_video_detector(train_cfg=dict(non_key_prob=0.5, non_key_scale=0.0))


def test_tied_qk_init_starts_from_feature_similarity():
    torch.manual_seed(0)
    tied = ExternalMemoryAggregator(in_channels=16, level='instance', num_heads=2,
                                    embed_channels=8, tied_qk_init=True, init_temperature=30.0)
    assert torch.equal(tied.w_q, tied.w_k) and tied.w_q.data_ptr() != tied.w_k.data_ptr()
    untied = ExternalMemoryAggregator(in_channels=16, level='instance', num_heads=2,
                                      embed_channels=8)
    assert not torch.equal(untied.w_q, untied.w_k)
    # Each stored row attends most to the input it was copied from, among
    # others that are far from it: the similarity starts meaningful.
    rows = torch.randn(5, 16)
    inputs = torch.cat([torch.randn(20, 16), rows + 0.05 * torch.randn(5, 16)])
    state = tied.new_state()
    state.replace(rows, frame_id=0)
    with torch.no_grad():
        tied.read(inputs, state, FrameContext(frame_id=1))
    attn = state.last_read.attn.mean(0)  # (5, 25)
    assert attn.argmax(dim=1).tolist() == [20, 21, 22, 23, 24]


def test_shared_qk_is_one_parameter():
    memory = ExternalMemoryAggregator(in_channels=16, level='instance', num_heads=2,
                                      embed_channels=8, share_qk=True)
    names = [name for name, _ in memory.named_parameters()]
    assert 'w_k' not in names and memory.key_projection is memory.w_q
    state = memory.new_state()
    state.replace(torch.randn(4, 16), frame_id=0)
    memory.read(torch.randn(6, 16), state, FrameContext(frame_id=1)).sum().backward()
    assert memory.w_q.grad is not None and memory.w_q.grad.abs().sum() > 0
    # Inference caches the memory's projections; an update of the shared
    # projection invalidates them.
    with torch.no_grad():
        x = torch.randn(6, 16)
        first = memory.read(x, state, FrameContext(frame_id=2))
        memory.w_q.add_(torch.randn_like(memory.w_q))  # cosines change
        second = memory.read(x, state, FrameContext(frame_id=3))
    assert not torch.allclose(first, second)


def test_current_frame_fusion_starts_at_one_half():
    plain = ClockNetAggregator(strides=(1, 4), flow_net=dict(type='HandShiftFlow')).eval()
    fused = ClockNetAggregator(strides=(1, 4), flow_net=dict(type='HandShiftFlow'),
                               current_frame_fusion=True, in_channels=2).eval()
    feats = const_feats([1, 3, 5], channels=2)
    outs_plain, _ = run(plain, feats)
    outs_fused, state = run(fused, feats)
    # Frame 0 starts the memories (its own features); later frames average the
    # memories' mean with the frame (zero-initialised weighting: 1/2 each).
    torch.testing.assert_close(outs_fused[0], feats[0])
    torch.testing.assert_close(outs_fused[2], 0.5 * outs_plain[2] + 0.5 * feats[2])
    # Its own features: 1/2 + 1/2 * (1/2 of the stride-1 memory / 2 memories).
    assert state.last_current_weight == pytest.approx(0.5 + 0.5 * 0.25)
    with pytest.raises(ValueError, match='in_channels'):
        ClockNetAggregator(flow_net=dict(type='HandShiftFlow'), current_frame_fusion=True)
