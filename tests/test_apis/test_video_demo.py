"""demo/video_demo.py end to end on a tiny video, and the drawing helpers."""
import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmvid_memory.apis import (VideoSink, count_video_frames, draw_detections, iter_video_frames,
                               list_frame_files, memory_text_lines)

from ._tiny_config import moving_square_frames, write_tiny_config, write_video

DEMO = Path(__file__).resolve().parents[2] / 'demo' / 'video_demo.py'


def load_demo():
    spec = importlib.util.spec_from_file_location('video_demo', DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_writes_annotated_mp4_with_every_frame(tmp_path, capsys):
    frames = moving_square_frames(6)
    video = write_video(tmp_path / 'in.mp4', frames)
    assert count_video_frames(video) == 6
    cfg = write_tiny_config(tmp_path, memory='ogem')
    out = tmp_path / 'out' / 'annotated.mp4'
    assert load_demo().main([str(cfg), '--input', str(video), '--out', str(out),
                             '--score-thr', '0.0', '--show-memory']) == 0
    assert out.is_file()
    written = list(iter_video_frames(out))
    assert len(written) == 6
    assert written[0].shape == (64, 64, 3)
    printed = capsys.readouterr().out
    assert '6 frames' in printed
    assert '6/6' in printed  # mmengine's progress bar, with the container's frame count
    # drawn on: the output is not the input re-encoded
    decoded_in = list(iter_video_frames(video))
    assert np.abs(written[0].astype(int) - decoded_in[0].astype(int)).mean() > 5


def test_demo_reads_a_frame_folder_and_writes_gif(tmp_path):
    folder = tmp_path / 'frames'
    folder.mkdir()
    for i, frame in enumerate(moving_square_frames(4)):
        cv2.imwrite(str(folder / f'{i}.png'), frame)
    cfg = write_tiny_config(tmp_path, memory='pixel')
    out = tmp_path / 'out.gif'
    load_demo().main([str(cfg), '--input', str(folder), '--out', str(out), '--max-frames', '3'])
    assert count_video_frames(out) == 3
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_demo().main([str(cfg), '--input', str(tmp_path / 'nothing'), '--out', str(out)])


def test_draw_detections_and_memory_text():
    image = np.zeros((64, 64, 3), np.uint8)
    inst = InstanceData(bboxes=torch.tensor([[10., 10., 40., 40.], [0., 0., 5., 5.]]),
                        scores=torch.tensor([0.9, 0.1]), labels=torch.tensor([1, 0]))
    drawn = draw_detections(image, inst, ('a', 'b'), score_thr=0.5)
    assert drawn.shape == image.shape and image.max() == 0  # a copy
    assert drawn[40, 25].any() and drawn[25, 10].any()      # box edges of the kept box
    assert not drawn[3:5, 3:5].any()                         # the low score box is not drawn
    empty = InstanceData(bboxes=torch.zeros(0, 4), scores=torch.zeros(0),
                         labels=torch.zeros(0, dtype=torch.long))
    assert not draw_detections(image, empty).any()
    stats = {'pixel.0.rows': 12.0, 'pixel.0.size': 0.5, 'instance.rows': 3.0,
             'pixel.1.memory_maps': 1.0}
    lines = memory_text_lines(stats)
    assert lines == ['instance rows 3', 'pixel.0 rows 12', 'pixel.1 memory_maps 1']
    assert 'pixel.0 size 0.5' in memory_text_lines(stats, keys=())
    assert draw_detections(image, empty, text_lines=lines).any()


def test_frame_folders_sort_naturally_and_sinks_check_input(tmp_path):
    for name in ('10.jpg', '2.jpg', 'b.txt', '1.png'):
        (tmp_path / name).write_bytes(b'')
    assert [Path(p).name for p in list_frame_files(tmp_path)] == ['1.png', '2.jpg', '10.jpg']
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='holds no image'):
        list_frame_files(tmp_path / 'empty')
    with pytest.raises(ValueError, match='.mp4, .avi or .gif'):
        VideoSink(tmp_path / 'x.mkv')
    with VideoSink(tmp_path / 'x.avi', fps=5) as sink:
        with pytest.raises(ValueError, match='uint8'):
            sink.write(np.zeros((8, 8, 3), np.float32))
        sink.write(np.zeros((16, 16, 3), np.uint8))
        sink.write(np.full((8, 8, 3), 255, np.uint8))  # resized to the first frame's size
    assert count_video_frames(tmp_path / 'x.avi') == 2


def test_demo_checks_the_output_suffix_before_loading_the_model(tmp_path, monkeypatch):
    demo = load_demo()
    video = write_video(tmp_path / 'in.mp4', moving_square_frames(2))
    monkeypatch.setattr(demo, 'init_detector',
                        lambda *a, **k: pytest.fail('the model was loaded before the check'))
    with pytest.raises(ValueError, match=r"out\.mkv.*use \.mp4, \.avi or \.gif"):
        demo.main(['unused_config.py', '--input', str(video), '--out', str(tmp_path / 'out.mkv')])
