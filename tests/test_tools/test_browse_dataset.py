"""tools/analysis_tools/browse_dataset.py on frame and clip pipelines."""
import importlib.util
import os
import os.path as osp

import cv2

from mmvid_memory.datasets.tiny_cocovid import make_tiny_cocovid

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool():
    path = osp.join(ROOT, 'tools', 'analysis_tools', 'browse_dataset.py')
    spec = importlib.util.spec_from_file_location('browse_dataset', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _config(tmp_path, pipeline, item_type):
    root = str(tmp_path / 'data')
    make_tiny_cocovid(root, 'vid_train', frames_per_video=(5, 3))
    dataset = dict(type='ImageNetVIDDataset', data_root=root + '/',
                   ann_file='annotations/vid_train.json', data_prefix=dict(img_path='Data/'),
                   metainfo=dict(classes=('circle', 'square', 'triangle')),
                   item_type=item_type, pipeline=pipeline)
    path = tmp_path / 'browse_cfg.py'
    path.write_text("default_scope = 'mmdet'\n"
                    f'train_dataloader = dict(dataset={dataset!r})\n')
    return str(path)


CLIP = [dict(type='VideoClipSample', num_frames=3, mode='consecutive'),
        dict(type='TransformBroadcaster', share_random_params=True, transforms=[
            dict(type='LoadImageFromFile'), dict(type='LoadTrackAnnotations'),
            dict(type='RandomFlip', prob=0.5)]),
        dict(type='PackTrackInputs')]
FRAME = [dict(type='LoadImageFromFile'), dict(type='LoadTrackAnnotations'),
         dict(type='PackVideoFrameInputs')]


def test_clips_are_drawn_frame_by_frame_side_by_side(tmp_path, capsys):
    out = str(tmp_path / 'vis')
    assert _tool().main([_config(tmp_path, CLIP, 'video'), '--output-dir', out,
                         '--not-show']) == 0
    names = sorted(os.listdir(out))
    assert len(names) == 8  # a clip around each of the 5 + 3 key frames
    assert names[0].startswith('00000_video1_frame') and names[-1].startswith('00007_video2')
    picture = cv2.imread(osp.join(out, names[0]))
    assert picture.shape[:2] == (48, 64 * 3)  # three 48 x 64 frames side by side
    assert '8/8' in capsys.readouterr().out


def test_single_frames_and_max_items(tmp_path):
    out = str(tmp_path / 'vis')
    _tool().main([_config(tmp_path, FRAME, 'frame'), '--output-dir', out, '--not-show',
                  '--max-items', '3'])
    names = sorted(os.listdir(out))
    assert names == ['00000_video1_frame0.jpg', '00001_video1_frame1.jpg',
                     '00002_video1_frame2.jpg']
    assert cv2.imread(osp.join(out, names[0])).shape[:2] == (48, 64)


def test_ground_truth_is_drawn(tmp_path):
    out = str(tmp_path / 'vis')
    cfg = _config(tmp_path, FRAME, 'frame')
    _tool().main([cfg, '--output-dir', out, '--not-show', '--max-items', '1'])
    drawn = cv2.imread(osp.join(out, '00000_video1_frame0.jpg')).astype(int)
    source = cv2.imread(str(tmp_path / 'data' / 'Data' / 'VID' / 'train' / 'video_000' /
                            '000000.png')).astype(int)
    # frame 0 of video 0 has its box at x 2..18, y 4..16: the box outline changes
    # pixels along its edges, far more than JPEG noise does elsewhere
    edge = abs(drawn[4, 2:18] - source[4, 2:18]).mean()
    away = abs(drawn[30:46, 30:60] - source[30:46, 30:60]).mean()
    assert edge > 2 * away  # without a drawing both are JPEG noise alone
