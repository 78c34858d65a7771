"""SynthVID-Flow: exact displacement fields, the pair set, its dataset and transforms."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

import mmvid_memory  # noqa: F401
from mmvid_memory.datasets import SynthVIDFlowDataset
from mmvid_memory.datasets.synthvid import (ensure_synthvid, ensure_synthvid_flow, frame_flow,
                                            resolve_flow_params)
from mmvid_memory.datasets.synthvid.flow import layer_displacement
from mmvid_memory.datasets.synthvid.flow_pairs import choose_pairs
from mmvid_memory.datasets.synthvid.motion import Trajectory
from mmvid_memory.datasets.synthvid.video import (Scene, VideoConfig, place_sprite,
                                                  render_scene_frame, sample_scene)
from mmvid_memory.datasets.transforms import (LoadFlowPair, RandomFlowFlip,
                                              RandomFlowTranslate)

SV = dict(frames=10, size=96, seed=3)
TINY_FLOW = dict(train_videos=2, val_videos=1, gaps=(1, 3), pairs_per_gap=2, flow_stride=4,
                 synthvid=SV)


def _remap(img: np.ndarray, field: np.ndarray) -> np.ndarray:
    """out[p] = img[p + field[p]] (bilinear), -1 outside."""
    ys, xs = np.mgrid[0:img.shape[0], 0:img.shape[1]].astype(np.float32)
    return cv2.remap(img, xs + field[..., 0], ys + field[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=-1)


def _scene(index: int, degradation: float = 0.0) -> Scene:
    return sample_scene(3, 0, index, VideoConfig(image_size=96, max_frames=12,
                                                 degradation=degradation))


def _layer_mask(scene: Scene, t: int) -> np.ndarray:
    from mmvid_memory.datasets.synthvid.video import _paste
    size = scene.cfg.image_size
    cover = np.zeros((size, size), bool)
    for layer in scene.layers:
        placed = place_sprite(layer, t, scene.cond.shake_offset[t], size, scene.cond.exposure[t])
        if placed is not None:
            mask = np.zeros((size, size), bool)
            _paste(np.zeros((size, size, 3), np.float32), mask, *placed)
            cover |= mask
    return cover


def test_background_moves_with_the_camera():
    scene = _scene(0)
    scene.layers = []  # background only
    t, s = 7, 2
    field = frame_flow(scene, t, s)
    expected = (scene.camera[t] + scene.cond.shake_offset[t]) - (scene.camera[s] +
                                                               scene.cond.shake_offset[s])
    np.testing.assert_allclose(field.reshape(-1, 2), np.broadcast_to(expected, (96 * 96, 2)),
                               atol=1e-5)
    assert np.abs(expected).max() > 0.1  # the camera did move
    frames = [render_scene_frame(scene, i)[0].astype(np.float32) for i in range(t + 1)]
    warped = _remap(frames[s], field)
    inside = (warped >= 0).all(-1)
    inside[:4], inside[-4:], inside[:, :4], inside[:, -4:] = False, False, False, False
    err_flow = np.abs(warped - frames[t])[inside].mean()
    err_zero = np.abs(frames[s] - frames[t])[inside].mean()
    assert err_flow < 0.5 * err_zero


def test_objects_map_through_their_poses():
    """On moving object pixels the exact field explains frame t from frame s far
    better than the zero field (over six videos: occlusions and blur remain)."""
    err_flow, err_zero = [], []
    for index in range(6):
        scene = _scene(index)
        t, s = 9, 5
        frames = [render_scene_frame(scene, i)[0].astype(np.float32) for i in range(t + 1)]
        field = frame_flow(scene, t, s)
        warped = _remap(frames[s], field)
        keep = (_layer_mask(scene, t) & (warped >= 0).all(-1) &
                (np.linalg.norm(field, axis=-1) > 2.0))
        err_flow.extend(np.abs(warped - frames[t])[keep].mean(-1))
        err_zero.extend(np.abs(frames[s] - frames[t])[keep].mean(-1))
        np.testing.assert_allclose(frame_flow(scene, t, t), 0, atol=1e-4)
    assert len(err_flow) > 500
    assert np.mean(err_flow) < 0.5 * np.mean(err_zero), (np.mean(err_flow), np.mean(err_zero))


def test_layer_displacement_of_a_translation_and_a_rotation():
    scene = _scene(2)
    n = scene.num_frames
    centers = np.stack([np.linspace(20, 40, n), np.full(n, 30.0)], 1)
    angles = np.linspace(0, 0.3, n)
    scene.layers[0].trajectory = Trajectory(centers=centers, scales=np.full(n, 10.0),
                                            angles=angles, velocities=np.zeros((n, 2)),
                                            aspect=1.0, regime='slow')
    scene.cond.shake_offset[:] = 0
    t, s = 4, 2
    pts = np.array([[30.0, 30.0], [35.0, 28.0]])
    got = layer_displacement(scene, 0, t, s, pts[:, 0], pts[:, 1])
    # Rotate about the centre by angle[s] - angle[t], then move with the centre.
    turn = angles[s] - angles[t]
    rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    expected = (pts - centers[t]) @ rot.T + centers[s] - pts
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_frame_flow_rejects_frames_outside_the_video():
    scene = _scene(0)
    with pytest.raises(IndexError, match=r's=-1 outside the video'):
        frame_flow(scene, 1, -1)
    with pytest.raises(IndexError, match=f't={scene.num_frames} outside'):
        frame_flow(scene, scene.num_frames, 0)


def test_choose_pairs():
    rng = np.random.default_rng(0)
    pairs = choose_pairs(6, [1, 2, 8], 3, rng)
    assert len(pairs) == len(set(pairs)) == 6  # gap 8 does not fit in 6 frames
    assert {t - s for t, s in pairs} == {1, 2}
    assert all(0 <= s < t < 6 for t, s in pairs)


@pytest.fixture(scope='module')
def flow_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('flow') / 'synthvid_flow')
    summary = ensure_synthvid_flow(root, workers=1, progress=False, **TINY_FLOW)
    assert summary['generated']
    return root


def test_pair_set_layout_and_frames(flow_root, tmp_path):
    with open(osp.join(flow_root, 'annotations', 'synthvid_flow_train.json')) as f:
        content = json.load(f)
    assert content['flow_stride'] == 4
    pairs = content['pairs']
    assert len(pairs) == 2 * 2 * 2  # videos x gaps x pairs per gap
    assert {p['gap'] for p in pairs} == {1, 3}
    field = np.load(osp.join(flow_root, pairs[0]['flow']))
    assert field.shape == (24, 24, 2) and field.dtype == np.float16
    # The frames are SynthVID's own frames of the same video.
    sv_root = str(tmp_path / 'synthvid')
    ensure_synthvid(sv_root, workers=1, progress=False,
                    **dict(SV, train_videos=2, val_videos=1))
    for pair in pairs[:3]:
        ours = cv2.imread(osp.join(flow_root, pair['img_cur']))
        theirs = cv2.imread(osp.join(sv_root, 'Data', 'VID', 'train', pair['video'],
                                     f"{pair['frame_cur']:06d}.JPEG"))
        np.testing.assert_array_equal(ours, theirs)
    # The stored field is the area average of the exact one.
    pair = pairs[0]
    index = int(pair['video'].rsplit('_', 1)[1])
    p = resolve_flow_params(**TINY_FLOW)['synthvid']
    scene = sample_scene(p['seed'], 0, index, VideoConfig(image_size=96, max_frames=10))
    exact = frame_flow(scene, pair['frame_cur'], pair['frame_ref'])
    pooled = exact.reshape(24, 4, 24, 4, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(field.astype(np.float32), pooled, atol=0.05)


def test_ensure_reuses_regenerates_and_keeps_foreign_folders(flow_root, tmp_path):
    marker = osp.join(flow_root, 'annotations', 'synthvid_flow_val.json')
    stamp = os.stat(marker).st_mtime_ns
    assert not ensure_synthvid_flow(flow_root, workers=1, progress=False,
                                    **TINY_FLOW)['generated']
    assert os.stat(marker).st_mtime_ns == stamp
    root = str(tmp_path / 'other')
    ensure_synthvid_flow(root, workers=1, progress=False, **dict(TINY_FLOW, train_videos=1))
    # Everything the generator writes is known as generated; a file of the user's is kept.
    from mmvid_memory.datasets.synthvid.flow_pairs import FLOW_GENERATED_FILES
    from mmvid_memory.datasets.synthvid.generator import _walk_files
    assert all(FLOW_GENERATED_FILES.match(rel) for rel in _walk_files(root))
    with open(osp.join(root, 'Flow', 'README.txt'), 'w') as f:
        f.write('mine')
    changed = ensure_synthvid_flow(root, workers=1, progress=False,
                                   **dict(TINY_FLOW, train_videos=1, gaps=(2, )))
    assert changed['generated'] and changed['params']['gaps'] == [2]
    assert changed['kept_user_files'] == ['Flow/README.txt']
    with open(osp.join(root, 'Flow', 'README.txt')) as f:
        assert f.read() == 'mine'
    (tmp_path / 'mine').mkdir()
    (tmp_path / 'mine' / 'notes.txt').write_text('keep me')
    with pytest.raises(FileExistsError, match='not a SynthVID-Flow folder'):
        ensure_synthvid_flow(str(tmp_path / 'mine'), workers=1, progress=False, **TINY_FLOW)
    assert (tmp_path / 'mine' / 'notes.txt').read_text() == 'keep me'


def test_parameter_errors():
    with pytest.raises(TypeError, match="unknown SynthVID-Flow parameter.*'gap'"):
        resolve_flow_params(gap=3)
    with pytest.raises(ValueError, match='gaps=\\[0\\]'):
        resolve_flow_params(gaps=[0])
    with pytest.raises(ValueError, match='flow_stride=7 must divide the frame size 160'):
        resolve_flow_params(flow_stride=7)
    with pytest.raises(ValueError, match='size=32 must be >= 64'):
        resolve_flow_params(synthvid=dict(size=32))


def test_dataset_and_transforms(flow_root):
    ds = SynthVIDFlowDataset(data_root=flow_root, ann_file='annotations/synthvid_flow_val.json',
                             pipeline=[dict(type='LoadFlowPair'), dict(type='PackFlowInputs')])
    assert len(ds) == 4
    item = ds[0]
    assert item['inputs'].shape == (6, 96, 96) and item['inputs'].dtype == torch.uint8
    assert item['data_samples'].gt_flow.shape == (2, 24, 24)
    assert item['data_samples'].gap in (1, 3)

    results = LoadFlowPair()(dict(ds.get_data_info(0)))
    flipped = RandomFlowFlip(prob=1.0)(dict(results, gt_flow=results['gt_flow'].copy()))
    np.testing.assert_array_equal(flipped['img_cur'], results['img_cur'][:, ::-1])
    np.testing.assert_array_equal(flipped['gt_flow'][..., 0], -results['gt_flow'][:, ::-1, 0])
    np.testing.assert_array_equal(flipped['gt_flow'][..., 1], results['gt_flow'][:, ::-1, 1])

    np.random.seed(1)
    moved = RandomFlowTranslate(max_shift=5, prob=1.0)(
        dict(results, gt_flow=results['gt_flow'].copy()))
    dx, dy = moved['ref_shift']
    assert (dx, dy) != (0, 0)
    np.testing.assert_allclose(moved['gt_flow'] - results['gt_flow'], np.broadcast_to(
        np.float32([dx, dy]), results['gt_flow'].shape))
    inner = moved['img_ref'][10:-10, 10:-10]
    np.testing.assert_array_equal(inner, results['img_ref'][10 - dy:86 - dy, 10 - dx:86 - dx])


def test_dataset_errors(tmp_path, flow_root):
    with pytest.raises(FileNotFoundError, match='synthvid_flow_params=dict'):
        SynthVIDFlowDataset(data_root=str(tmp_path), ann_file='annotations/none.json')
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(dict(pairs=[dict(img_cur='a.jpg')])))
    with pytest.raises(ValueError, match="lacks 'img_ref'"):
        SynthVIDFlowDataset(data_root=str(tmp_path), ann_file=str(bad))
    with pytest.raises(ValueError, match='max_shift must be an integer >= 0'):
        RandomFlowTranslate(max_shift=-1)
    with pytest.raises(FileNotFoundError, match='x.jpg'):
        LoadFlowPair()(dict(img_cur_path=str(tmp_path / 'x.jpg'), img_ref_path='',
                            flow_path=''))
