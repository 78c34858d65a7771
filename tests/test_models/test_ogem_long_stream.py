"""A 1000-frame stream through a tiny memory detector keeps OGEM within its bound.

The bound follows from Deng et al.'s write rules (models/memory/ogem_write.py):

* pixel memory: at most ``max_objects_per_class`` objects per class, each
  holding the locations of its box in one key-frame map (at most L_box of
  them), plus the background rows of one frame, fewer than that map's n
  locations: rows <= C * cap * L_box + (n - 1) <= (C * cap + 1) * n
  (``ExternalMemoryAggregator.max_rows``);
* instance memory: the RoI features of one frame, at most the RPN's
  proposals per frame at test time.

The tiny detector's own scores are low (random weights), so its boxes are
replaced by random ones (0 to 4 per frame, scores in [0.6, 1)) after its heads
ran: every frame reads both memories through the real detector; key frames
write objects, or background rows when nothing is above tau = 0.9.
"""
import math

import torch
from mmdet.registry import MODELS
from mmengine.structures import InstanceData

import mmvid_memory  # noqa: F401

from ._tiny_detectors import make_frame, tiny_faster_rcnn

NUM_FRAMES = 1000
NUM_CLASSES = 3
CAP = 10
PROPOSALS = 16
FRAME = 64  # px, square frames
STRIDE = 4  # FPN level 0 carries the pixel memory
MAX_BOX = 20.0  # px, largest side of a random box


def tiny_ogem_detector():
    detector = tiny_faster_rcnn(NUM_CLASSES)
    detector.test_cfg.rpn.max_per_img = PROPOSALS
    detector.test_cfg.rcnn.max_per_img = 10
    return MODELS.build(dict(
        type='MemoryVideoDetector', detector=detector, pixel_levels=[0],
        pixel_memory=dict(type='ExternalMemoryAggregator', in_channels=16, num_heads=2,
                          embed_channels=8, max_objects_per_class=CAP),
        instance_memory=dict(type='ExternalMemoryAggregator', in_channels=16 * 7 * 7,
                             num_heads=2, embed_channels=8),
        # speed mode: odd frames are down-sampled to 32 x 32 and only read
        test_cfg=dict(key_frame_interval=2, non_key_scale=0.5)))


def rig_detections(model, gen: torch.Generator) -> None:
    """Replace the heads' detections by random boxes, after the heads ran."""
    heads_predict = model._heads_predict

    def rigged(x, samples, rescale):
        results = heads_predict(x, samples, rescale)
        num = int(torch.randint(0, 5, (), generator=gen))
        x1y1 = torch.rand(num, 2, generator=gen) * (FRAME - MAX_BOX)
        wh = 1 + torch.rand(num, 2, generator=gen) * (MAX_BOX - 1)
        return [InstanceData(bboxes=torch.cat([x1y1, x1y1 + wh], 1),
                             scores=0.6 + 0.4 * torch.rand(num, generator=gen),
                             labels=torch.randint(0, NUM_CLASSES, (num, ), generator=gen))
                for _ in results]

    model._heads_predict = rigged


def test_memory_stays_within_the_seed_bound_over_1000_frames():
    torch.manual_seed(0)
    model = tiny_ogem_detector().eval()
    rig_detections(model, torch.Generator().manual_seed(1))
    n = (FRAME // STRIDE) ** 2  # locations of a key-frame map at level 0
    box_locations = (math.floor(MAX_BOX / STRIDE) + 1) ** 2  # cell centres one box can hold
    loose = model.pixel_memory.max_rows(n, NUM_CLASSES)
    tight = NUM_CLASSES * CAP * box_locations + n - 1
    assert loose == (NUM_CLASSES * CAP + 1) * n and tight < loose

    img, sample = make_frame(0, 0, NUM_FRAMES, size=(FRAME, FRAME))
    vstate = model.new_video_state(0)
    peak_rows, peak_per_class, background_frames = 0, 0, set()
    with torch.no_grad():
        for t in range(NUM_FRAMES):
            frame = sample.clone()
            frame.set_metainfo(dict(frame_id=t))
            # the same pixels shifted by one column per frame
            data = model.data_preprocessor(
                dict(inputs=[torch.roll(img, t, dims=2)], data_samples=[frame]))
            out = model.predict_frame(data['inputs'], data['data_samples'][0], vstate)
            pixel, instance = vstate.points['pixel.0'], vstate.points['instance']
            assert pixel.num_rows <= tight <= loose
            assert all(obj.rows.shape[0] <= box_locations for obj in pixel.objects)
            assert max(pixel.objects_per_class().values(), default=0) <= CAP
            assert pixel.num_background_rows < n
            assert 0 < instance.num_rows <= PROPOSALS
            assert instance.frame_id == t - t % 2  # the last key frame's RoIs
            stats = out.metainfo['memory_stats']
            assert stats['pixel.0.rows'] == pixel.num_rows
            assert stats['instance.rows'] == instance.num_rows
            peak_rows = max(peak_rows, pixel.num_rows)
            peak_per_class = max(peak_per_class, max(pixel.objects_per_class().values(),
                                                     default=0))
            if pixel.background is not None:
                background_frames.add(pixel.background.frame_id)
    # The bound was held by the rules, not by an idle memory: the cap was reached,
    # objects kept being replaced, background rows were rewritten.
    assert peak_per_class == CAP
    assert pixel.next_object_id > 3 * NUM_CLASSES * CAP  # the memory was refilled
    assert len(background_frames) > 10
    assert peak_rows > NUM_CLASSES * CAP  # more than one row per object: boxes span cells
    assert set(vstate.points) == {'pixel.0', 'instance'}
