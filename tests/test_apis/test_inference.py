"""Online inference API: init_detector, VideoStream, inference_video."""
import copy

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmvid_memory.apis import (VideoStream, build_test_pipeline, config_dataset_meta,
                               inference_video, init_detector, open_stream)
from mmvid_memory.datasets.tiny_cocovid import make_tiny_cocovid

from ._tiny_config import CLASSES, moving_square_frames, write_tiny_config, write_video


def boxes_scores(result):
    inst = result.pred_instances
    return torch.cat([inst.bboxes, inst.scores[:, None], inst.labels[:, None].float()], dim=1)


def assert_same_results(results_a, results_b):
    assert len(results_a) == len(results_b)
    for a, b in zip(results_a, results_b):
        torch.testing.assert_close(boxes_scores(a), boxes_scores(b))


@pytest.fixture(scope='module')
def model_dir(tmp_path_factory):
    return tmp_path_factory.mktemp('api')


@pytest.fixture(scope='module')
def memory_model(model_dir):
    torch.manual_seed(0)
    return init_detector(write_tiny_config(model_dir, memory='ogem'))


def test_init_detector_builds_eval_model_with_class_names(memory_model, model_dir):
    assert not memory_model.training
    assert memory_model.dataset_meta['classes'] == CLASSES
    assert memory_model.cfg.model.type == 'MemoryVideoDetector'
    assert memory_model.instance_memory is not None

    # classes and weights come back from a checkpoint (its meta wins over the config)
    ckpt = model_dir / 'tiny.pth'
    torch.save(dict(state_dict=memory_model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=('x', 'y', 'z')))), str(ckpt))
    loaded = init_detector(write_tiny_config(model_dir, name='cfg_b.py'), str(ckpt),
                           cfg_options=dict(model=dict(test_cfg=dict(key_frame_interval=2))))
    assert loaded.dataset_meta['classes'] == ('x', 'y', 'z')
    assert loaded.key_frame_interval == 2
    for key, value in memory_model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value)


def test_class_names_from_annotation_file_or_generic(tmp_path):
    cfg_path = write_tiny_config(tmp_path, memory=None, class_names=False)
    model = init_detector(cfg_path)  # no annotation file yet: generic names
    assert model.dataset_meta['classes'] == ('class_0', 'class_1', 'class_2')
    make_tiny_cocovid(str(tmp_path), 'val', classes=('a', 'b', 'c'))
    assert config_dataset_meta(model.cfg)['classes'] == ('a', 'b', 'c')
    with pytest.raises(TypeError, match='config must be'):
        init_detector(dict(model=dict()))


def test_test_pipeline_drops_annotations_and_loads_arrays(memory_model):
    types = [type(t).__name__ for t in build_test_pipeline(memory_model.cfg, 'array').transforms]
    assert types == ['LoadImageFromNDArray', 'Resize', 'PackVideoFrameInputs']
    types = [type(t).__name__ for t in build_test_pipeline(memory_model.cfg, 'file').transforms]
    assert types == ['LoadImageFromFile', 'Resize', 'PackVideoFrameInputs']
    cfg = copy.deepcopy(memory_model.cfg)
    cfg.test_dataloader.dataset.pipeline = [dict(type='PackDetInputs')]
    with pytest.raises(ValueError, match='no image loading step'):
        build_test_pipeline(cfg)


def test_stream_memory_grows_and_changes_detections(memory_model):
    frames = moving_square_frames(4)
    with open_stream(memory_model, video_id='v') as stream:
        results = [stream.push(frame) for frame in frames]
        stats = stream.stats
    assert [r.metainfo['frame_id'] for r in results] == [0, 1, 2, 3]
    assert all(r.metainfo['video_id'] == 'v' for r in results)
    assert [row['frame_id'] for row in stats] == [0, 1, 2, 3]
    assert all(row['memory_stats']['pixel.0.rows'] > 0 for row in stats)
    assert all(row['memory_stats']['instance.rows'] > 0 for row in stats)
    # boxes in the frame's own pixels (the pipeline resizes 64 -> 64 here)
    assert results[0].pred_instances.bboxes.max() <= 64 + 1e-3
    # frame 1 reads the memory of frame 0: not the same as frame 1 seen first
    fresh = open_stream(memory_model).push(frames[1])
    assert not torch.allclose(boxes_scores(fresh), boxes_scores(results[1]))


def test_interleaved_streams_equal_separate_runs(memory_model):
    video_a = moving_square_frames(3, seed=1)
    video_b = moving_square_frames(3, seed=2)
    alone_a = inference_video(memory_model, video_a)
    alone_b = inference_video(memory_model, video_b)
    stream_a, stream_b = open_stream(memory_model, 'a'), open_stream(memory_model, 'b')
    got_a, got_b = [], []
    for frame_a, frame_b in zip(video_a, video_b):
        got_a.append(stream_a.push(frame_a))
        got_b.append(stream_b.push(frame_b))
    assert_same_results(alone_a, got_a)
    assert_same_results(alone_b, got_b)
    rows_a = [row['memory_stats'] for row in stream_a.stats]
    assert rows_a != [row['memory_stats'] for row in stream_b.stats]


def test_close_frees_memory_and_rejects_pushes(memory_model):
    frame = moving_square_frames(1)[0]
    with VideoStream(memory_model, video_id=7) as stream:
        stream.push(frame)
        vstate = stream._vstate
        assert vstate.points['pixel.0'].num_rows > 0
    assert stream.closed and stream._vstate is None
    assert vstate.points['pixel.0'].num_rows == 0
    with pytest.raises(RuntimeError, match='video 7 is closed'):
        stream.push(frame)
    stream.close()  # twice is fine


def test_bad_frames_are_named(memory_model, tmp_path):
    stream = open_stream(memory_model)
    with pytest.raises(ValueError, match=r'\(H, W, 3\) uint8.*shape \(64, 64\)'):
        stream.push(np.zeros((64, 64), np.uint8))
    with pytest.raises(ValueError, match='dtype float32'):
        stream.push(np.zeros((64, 64, 3), np.float32))
    with pytest.raises(FileNotFoundError, match='nope.png'):
        stream.push(str(tmp_path / 'nope.png'))
    with pytest.raises(TypeError, match='list'):
        stream.push([1, 2, 3])
    stream.push(moving_square_frames(1)[0], frame_id=4)
    with pytest.raises(ValueError, match='frame_id 4 pushed after frame 4'):
        stream.push(moving_square_frames(1)[0], frame_id=4)


def test_files_folders_and_videos_give_the_same_detections(memory_model, tmp_path):
    frames = moving_square_frames(3)
    folder = tmp_path / 'frames'
    folder.mkdir()
    paths = []
    for i, frame in enumerate(frames):  # 2 before 10: natural order
        paths.append(str(folder / f'img{[2, 10, 11][i]}.png'))
        cv2.imwrite(paths[-1], frame)
    from_arrays = inference_video(memory_model, frames)
    assert_same_results(from_arrays, inference_video(memory_model, paths))
    assert_same_results(from_arrays, inference_video(memory_model, str(folder)))
    video = write_video(tmp_path / 'v.mp4', frames)
    assert len(inference_video(memory_model, video)) == 3  # lossy codec: count only


def test_plain_detector_streams_frame_by_frame(tmp_path):
    # a plain mmdet config: PackDetInputs (no video keys) and LoadAnnotations
    cfg = Config.fromfile(str(write_tiny_config(tmp_path, memory=None)))
    cfg.test_dataloader.dataset.pipeline = [
        dict(type='LoadImageFromFile'), dict(type='Resize', scale=(96, 96), keep_ratio=True),
        dict(type='LoadAnnotations', with_bbox=True), dict(type='PackDetInputs')]
    torch.manual_seed(0)
    model = init_detector(cfg)
    frames = moving_square_frames(2)
    with open_stream(model, video_id=3) as stream:
        results = [stream.push(f) for f in frames]
        assert stream.stats[1]['memory_stats'] == {}
    assert results[1].metainfo['frame_id'] == 1 and results[1].metainfo['video_id'] == 3
    # resized to 96 for the network, boxes back in the frame's 64 px
    assert results[0].metainfo['scale_factor'] == (1.5, 1.5)
    assert results[0].pred_instances.bboxes.max() <= 64 + 1e-3
    assert_same_results(results[1:], [open_stream(model).push(frames[1])])


def test_speed_mode_key_frames_in_stats(model_dir):
    model = init_detector(write_tiny_config(model_dir, memory='pixel', name='cfg_speed.py'),
                          cfg_options=dict(model=dict(test_cfg=dict(key_frame_interval=2,
                                                                    non_key_scale=0.5))))
    with open_stream(model) as stream:
        for frame in moving_square_frames(4):
            result = stream.push(frame)
            assert result.pred_instances.bboxes[:, 2:].max() <= 64 + 1e-3
        assert [row['is_key_frame'] for row in stream.stats] == [True, False, True, False]


class _CountingDetector(torch.nn.Module):
    """Stands for a memory detector: reports a memory size that cycles per frame."""

    def data_preprocessor(self, data, training=False):
        return dict(inputs=data['inputs'][0][None], data_samples=data['data_samples'])

    def new_video_state(self, video_id=0):
        return type('State', (), dict(reset=lambda self: None))()

    def predict_frame(self, img, sample, vstate):
        frame_id = sample.metainfo['frame_id']
        sample.set_metainfo(dict(memory_stats={'pixel.0.rows': float(frame_id % 7)},
                                 is_key_frame=frame_id % 2 == 0))
        return sample


def _tiny_pack(results):
    from mmdet.structures import DetDataSample
    return dict(inputs=torch.zeros(3, 2, 2, dtype=torch.uint8), data_samples=DetDataSample())


def test_stream_stats_stay_bounded_on_a_long_stream():
    """A camera streams for days: the per-frame record must not grow with it."""
    import pickle
    model = _CountingDetector().eval()
    frame = np.zeros((2, 2, 3), np.uint8)
    sizes = {}
    with VideoStream(model, test_pipeline=_tiny_pack, stats_window=50) as stream:
        for n in range(1, 2001):
            stream.push(frame)
            if n in (1000, 2000):
                sizes[n] = len(pickle.dumps(stream.__dict__['_stats']))
        stats = stream.stats
        summary = stream.summary
    assert sizes[2000] == sizes[1000]  # an unbounded list grew with every frame
    assert len(stats) == 50 and [row['frame_id'] for row in stats] == list(range(1950, 2000))
    assert stream.num_frames == 2000
    assert summary == dict(frames=2000, key_frames=1000, last_frame_id=1999,
                           peak_memory_stats={'pixel.0.rows': 6.0})
    stats[0]['memory_stats']['pixel.0.rows'] = -1.0  # a copy: the stream keeps its own
    with pytest.raises(ValueError, match='stats_window must be an int >= 0'):
        VideoStream(model, test_pipeline=_tiny_pack, stats_window=None)


def test_thin_frame_is_a_clear_error(memory_model):
    with open_stream(memory_model) as stream:
        with pytest.raises(ValueError, match=r'frame 0 of video 0 \(1x500 pixels\): the test '
                                             r'pipeline step Resize failed .*aspect ratio 1:500'):
            stream.push(np.zeros((1, 500, 3), np.uint8))
