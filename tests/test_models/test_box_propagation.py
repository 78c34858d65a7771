"""The box-propagation baseline (Vu et al., Table 2) as a test-time mode of the detector."""
import copy

import pytest
import torch
from mmdet.registry import MODELS
from torch import nn

import mmvid_memory  # noqa: F401
from mmvid_memory.models.detectors.box_propagation import (BoxPropagationConfig,
                                                           build_box_propagation,
                                                           move_detections)
from mmengine.structures import InstanceData

from ._tiny_detectors import make_frame, tiny_faster_rcnn

TINY_FLOW = dict(type='FlowNetS', base_channels=4, feature_stride=16, zero_init_last=False)



class ConstantFlow(nn.Module):
    """A flow network whose field is the same displacement everywhere."""

    def __init__(self, dx: float, dy: float) -> None:
        super().__init__()
        self.dx, self.dy = dx, dy
        self.calls = 0

    def forward(self, img_cur, img_ref, out_size=None, out_stride=None):
        self.calls += 1
        h, w = out_size
        field = img_cur.new_zeros(img_cur.shape[0], 2, h, w)
        field[:, 0], field[:, 1] = self.dx, self.dy
        return field


def build(box_propagation=None):
    torch.manual_seed(0)
    det = tiny_faster_rcnn()
    det.test_cfg.rcnn.max_per_img = 5
    return MODELS.build(dict(
        type='MemoryVideoDetector', detector=det,
        pixel_memory=dict(type='MemNetWarper', flow_net=TINY_FLOW),
        test_cfg=dict(box_propagation=box_propagation))).eval()


def run_video(model, length, video_id=1):
    outs = []
    with torch.no_grad():
        for t in range(length):
            img, sample = make_frame(video_id, t, length, size=(64, 96))
            sample.set_metainfo(dict(scale_factor=(0.5, 0.5)))  # original frames were 2x larger
            data = model.data_preprocessor(dict(inputs=[img], data_samples=[copy.deepcopy(sample)]))
            outs.append(model(**data, mode='predict')[0])
    return outs


def test_delta_zero_equals_normal_inference():
    plain = run_video(build(None), 4)
    zero = run_video(build(dict(delta=0)), 4)
    for a, b in zip(plain, zero):
        torch.testing.assert_close(a.pred_instances.bboxes, b.pred_instances.bboxes)
        torch.testing.assert_close(a.pred_instances.scores, b.pred_instances.scores)
        assert b.metainfo['frames_since_evidence'] == 0


@pytest.mark.parametrize('mode', ['step', 'direct'])
def test_translation_moves_boxes_by_the_shift(mode):
    model = build(dict(delta=2, mode=mode, clip=False))
    model.pixel_memory.flow_net = ConstantFlow(dx=-0.5, dy=0.25)  # feature pixels
    outs = run_video(model, 4)
    # The boxes move on the first FPN level (stride 4). Backward field D = -v: content
    # moves by +v = (2, -1) input pixels per frame, i.e. (4, -2) original pixels
    # (scale_factor 0.5).
    base = outs[0].pred_instances.bboxes
    assert len(base) > 0
    shift = base.new_tensor([4.0, -2.0, 4.0, -2.0])
    steps = {'step': (1, 2), 'direct': (1, 1)}[mode]  # 'direct' reads D_{t,s} once per frame
    for t, k in zip((1, 2), steps):
        torch.testing.assert_close(outs[t].pred_instances.bboxes, base + k * shift)
        torch.testing.assert_close(outs[t].pred_instances.scores, outs[0].pred_instances.scores)
        assert outs[t].metainfo['frames_since_evidence'] == t
        assert outs[t].metainfo['memory_stats']['box_propagation.flows'] == 1
    # Frame 3 starts a new window: detected again, with the memory.
    assert outs[3].metainfo['frames_since_evidence'] == 0
    assert model.pixel_memory.flow_net.calls == 3  # frames 1, 2 and the memory at frame 3


def test_moved_boxes_are_clipped_to_the_image():
    dets = InstanceData(bboxes=torch.tensor([[2.0, 2.0, 20.0, 30.0]]), scores=torch.ones(1),
                        labels=torch.zeros(1, dtype=torch.long))
    flow = torch.zeros(1, 2, 4, 4)
    flow[:, 0] = 1.0  # content moves 16 px to the left
    moved = move_detections(dets, flow, 16.0, img_shape=(64, 64))
    torch.testing.assert_close(moved.bboxes, torch.tensor([[0.0, 2.0, 4.0, 30.0]]))


def test_bad_configs_raise_clear_errors():
    with pytest.raises(ValueError, match='window'):
        build_box_propagation(dict(delta=4, window=4))
    with pytest.raises(ValueError, match='mode'):
        BoxPropagationConfig(delta=1, mode='sideways')
    with pytest.raises(TypeError, match='box_propagation'):
        build_box_propagation(dict(delta=1, step=2))
    with pytest.raises(ValueError, match='flow_net'):
        MODELS.build(dict(type='MemoryVideoDetector', detector=tiny_faster_rcnn(),
                          test_cfg=dict(box_propagation=dict(delta=2))))
    model = build(dict(delta=2))
    model.pixel_memory.set_propagation(delta=2)
    with pytest.raises(ValueError, match='one at a time'):
        run_video(model, 1)
