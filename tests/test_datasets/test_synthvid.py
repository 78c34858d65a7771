"""SynthVID: schema, determinism, caching, box rules, motion bins, degradations."""
import collections
import glob
import importlib.util
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmvid_memory.datasets.synthvid import (SYNTHVID_CLASSES, ensure_synthvid, generate_synthvid,
                                            motion_bin, motion_bin_fractions, motion_ious,
                                            resolve_params)
from mmvid_memory.datasets.synthvid import generator as generator_module
from mmvid_memory.datasets.synthvid.appearance import Sprite, render_class_sprite
from mmvid_memory.datasets.synthvid.degradation import FrameConditions
from mmvid_memory.datasets.synthvid.motion import Trajectory
from mmvid_memory.datasets.synthvid.video import Layer, VideoConfig, render_frame

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = dict(train_videos=3, val_videos=2, frames=12, size=96, seed=3)
SCHEMA = dict(categories={'id', 'name', 'encode_name'}, videos={'id', 'name'},
              images={'id', 'video_id', 'frame_id', 'file_name', 'width', 'height'},
              annotations={'id', 'image_id', 'video_id', 'instance_id', 'category_id', 'bbox',
                           'area', 'iscrowd', 'occluded', 'generated'})


def _load(path):
    with open(path) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def tiny_set(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('synthvid') / 'tiny')
    generate_synthvid(out, workers=1, progress=False, **TINY)
    return out


def test_class_design():
    """>= 8 classes; each shape carries two patterns and each pattern two shapes."""
    assert len(SYNTHVID_CLASSES) >= 8
    assert len({c.name for c in SYNTHVID_CLASSES}) == len({c.code for c in SYNTHVID_CLASSES}) == 8
    assert len({(c.shape, c.pattern) for c in SYNTHVID_CLASSES}) == 8
    for counts in (collections.Counter(c.shape for c in SYNTHVID_CLASSES),
                   collections.Counter(c.pattern for c in SYNTHVID_CLASSES)):
        assert set(counts.values()) == {2}


@pytest.mark.parametrize('split', ['train', 'val'])
def test_schema_and_layout(tiny_set, split):
    data = _load(osp.join(tiny_set, 'annotations', f'synthvid_{split}.json'))
    assert set(data) == set(SCHEMA)
    for key, fields in SCHEMA.items():
        assert all(set(item) == fields for item in data[key]), key
    assert [(c['id'], c['name'], c['encode_name']) for c in data['categories']] == [
        (i, c.name, c.code) for i, c in enumerate(SYNTHVID_CLASSES, 1)]
    assert [v['id'] for v in data['videos']] == list(range(1, TINY[f'{split}_videos'] + 1))
    assert [i['id'] for i in data['images']] == list(range(1, len(data['images']) + 1))
    frames = collections.defaultdict(list)
    for img in data['images']:
        video = data['videos'][img['video_id'] - 1]['name']
        assert img['file_name'] == f'VID/{split}/{video}/{img["frame_id"]:06d}.JPEG'
        assert (img['width'], img['height']) == (96, 96)
        frames[img['video_id']].append(img['frame_id'])
    for video_frames in frames.values():  # lengths in [ceil(0.75 * 12), 12], ids 0..n-1
        assert video_frames == list(range(len(video_frames))) and 9 <= len(video_frames) <= 12
    first = cv2.imread(osp.join(tiny_set, 'Data', data['images'][0]['file_name']))
    assert first.shape == (96, 96, 3)
    assert len(glob.glob(osp.join(tiny_set, 'Data', 'VID', split, '*', '*.JPEG'))) == len(
        data['images'])

    images = {img['id']: img for img in data['images']}
    track_class = {}
    assert data['annotations'], 'no boxes at all'
    for ann in data['annotations']:
        x, y, w, h = ann['bbox']
        assert all(isinstance(v, int) for v in ann['bbox'])
        assert 0 <= x and 0 <= y and x + w <= 96 and y + h <= 96 and min(w, h) >= 4
        assert ann['area'] == w * h
        assert (ann['iscrowd'], ann['generated']) == (0, 0) and ann['occluded'] in (0, 1)
        assert images[ann['image_id']]['video_id'] == ann['video_id']
        # an instance belongs to one video and keeps its class along the track
        key = ann['instance_id']
        assert track_class.setdefault(key, (ann['video_id'], ann['category_id'])) == (
            ann['video_id'], ann['category_id'])
    per_image = collections.Counter((a['image_id'], a['instance_id']) for a in data['annotations'])
    assert max(per_image.values()) == 1
    summary = _load(osp.join(tiny_set, 'synthvid_params.json'))
    assert summary['params'] == resolve_params(**TINY)
    assert summary['stats'][split]['annotations'] == len(data['annotations'])


def _tree_bytes(root):
    out = {}
    for path in sorted(glob.glob(osp.join(root, '**', '*'), recursive=True)):
        if osp.isfile(path) and not path.endswith('synthvid_params.json'):  # it records seconds
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = f.read()
    return out


def test_deterministic_for_any_worker_count(tiny_set, tmp_path):
    other = str(tmp_path / 'two_workers')
    generate_synthvid(other, workers=2, progress=False, **TINY)
    assert _tree_bytes(other) == _tree_bytes(tiny_set)
    reseeded = str(tmp_path / 'reseeded')
    generate_synthvid(reseeded, workers=1, progress=False, **dict(TINY, seed=4, val_videos=0,
                                                                   train_videos=1))
    assert _tree_bytes(reseeded)['Data/VID/train/synthvid_train_0000/000000.JPEG'] != _tree_bytes(
        tiny_set)['Data/VID/train/synthvid_train_0000/000000.JPEG']


def test_ensure_reuses_and_regenerates(tmp_path):
    root = str(tmp_path / 'synthvid')
    params = dict(TINY, train_videos=1, val_videos=1, frames=4)
    assert ensure_synthvid(root, workers=1, progress=False, **params)['generated']
    marker = osp.join(root, 'annotations', 'synthvid_train.json')
    stamp = os.stat(marker).st_mtime_ns
    assert not ensure_synthvid(root, workers=1, progress=False, **params)['generated']
    assert os.stat(marker).st_mtime_ns == stamp
    changed = ensure_synthvid(root, workers=1, progress=False, **dict(params, frames=5))
    assert changed['generated'] and changed['params']['frames'] == 5
    assert _load(osp.join(root, 'synthvid_params.json'))['params']['frames'] == 5
    assert sorted(os.listdir(tmp_path)) == ['synthvid', 'synthvid.lock']


def test_every_generated_file_is_known_as_generated(tiny_set):
    from mmvid_memory.datasets.synthvid.generator import GENERATED_FILES, _walk_files
    files = list(_walk_files(tiny_set))
    assert len(files) > 10 and all(GENERATED_FILES.match(rel) for rel in files)


def test_regeneration_keeps_the_users_files(tmp_path):
    """New parameters regenerate the data; files a user put in the folder survive."""
    root = str(tmp_path / 'synthvid')
    params = dict(TINY, train_videos=2, val_videos=1, frames=4)
    ensure_synthvid(root, workers=1, progress=False, **params)
    mine = {'notes.txt': 'my notes', 'annotations/my_subset.json': '{"images": []}',
            'Data/VID/train/synthvid_train_0001/labels.txt': 'hand labels',
            'work_dirs/run/iter_2.pth': 'weights'}
    for rel, text in mine.items():
        os.makedirs(osp.dirname(osp.join(root, rel)), exist_ok=True)
        with open(osp.join(root, rel), 'w') as f:
            f.write(text)
    # An interrupted earlier replacement left the old folder aside, with a file of the user's.
    os.makedirs(f'{root}.old-99999/Data/VID/train/synthvid_train_0000')
    with open(f'{root}.old-99999/Data/VID/train/synthvid_train_0000/000000.JPEG', 'w') as f:
        f.write('generated')
    with open(f'{root}.old-99999/old_notes.txt', 'w') as f:
        f.write('older notes')
    summary = ensure_synthvid(root, workers=1, progress=False, **dict(params, train_videos=1))
    assert summary['generated'] and summary['params']['train_videos'] == 1
    for rel, text in dict(mine, **{'old_notes.txt': 'older notes'}).items():
        with open(osp.join(root, rel)) as f:
            assert f.read() == text, rel
    assert sorted(summary['kept_user_files']) == sorted([*mine, 'old_notes.txt'])
    # Generated files of the old parameters are gone (video 1 no longer exists).
    assert not glob.glob(osp.join(root, 'Data/VID/train/synthvid_train_0001/*.JPEG'))
    assert len(_load(osp.join(root, 'annotations', 'synthvid_train.json'))['videos']) == 1
    assert sorted(os.listdir(tmp_path)) == ['synthvid', 'synthvid.lock']


def test_interrupted_generation_never_looks_complete(tmp_path, monkeypatch):
    root = str(tmp_path / 'synthvid')
    params = dict(TINY, train_videos=2, val_videos=1, frames=4)
    ensure_synthvid(root, workers=1, progress=False, **params)
    before = _tree_bytes(root)
    calls = []

    def crash(*args):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt('interrupted')
        return real(*args)

    real = generator_module.make_video
    monkeypatch.setattr(generator_module, 'make_video', crash)
    with pytest.raises(KeyboardInterrupt):
        ensure_synthvid(root, workers=1, progress=False, **dict(params, seed=9))
    monkeypatch.undo()
    assert _tree_bytes(root) == before  # the previous set is untouched
    assert sorted(os.listdir(tmp_path)) == ['synthvid', 'synthvid.lock']
    # A folder without its params file (a crash before this code existed) and a
    # stale temporary folder are replaced and removed.
    os.remove(osp.join(root, 'synthvid_params.json'))
    os.makedirs(f'{root}.tmp-99999/Data')
    assert ensure_synthvid(root, workers=1, progress=False, **params)['generated']
    assert sorted(os.listdir(tmp_path)) == ['synthvid', 'synthvid.lock']


def test_ensure_never_replaces_foreign_folders(tmp_path):
    (tmp_path / 'mine').mkdir()
    (tmp_path / 'mine' / 'notes.txt').write_text('keep me')
    with pytest.raises(FileExistsError, match='not a SynthVID folder'):
        ensure_synthvid(str(tmp_path / 'mine'), workers=1, progress=False, **TINY)
    assert (tmp_path / 'mine' / 'notes.txt').read_text() == 'keep me'
    assert sorted(os.listdir(tmp_path)) == ['mine', 'mine.lock']


def test_parameter_errors(tmp_path):
    with pytest.raises(TypeError, match="unknown SynthVID parameter.*'frame'"):
        resolve_params(frame=3)
    with pytest.raises(ValueError, match='size=32 must be >= 64'):
        resolve_params(size=32)
    with pytest.raises(ValueError, match='min_objects=4 must be in'):
        resolve_params(min_objects=4)
    (tmp_path / 'full').mkdir()
    (tmp_path / 'full' / 'x').write_text('')
    with pytest.raises(FileExistsError, match='not empty'):
        generate_synthvid(str(tmp_path / 'full'), progress=False)


def _clean_conditions(num_frames):
    zeros = np.zeros(num_frames)
    return FrameConditions(defocus=zeros, shake_blur=zeros, shake_angle=zeros,
                           shake_offset=np.zeros((num_frames, 2)), exposure=zeros,
                           gain=np.ones(num_frames), cast=np.ones((num_frames, 3)),
                           light=np.zeros((num_frames, 3)), noise=zeros)


def _static(center, scale):
    return Trajectory(centers=np.array([center], float), scales=np.array([scale], float),
                      angles=np.zeros(1), velocities=np.zeros((1, 2)), aspect=1.0, regime='slow')


def _render(layers, size=96):
    cfg = VideoConfig(image_size=size)
    background = np.full((size + 40, size + 40, 3), 0.5, np.float32)
    noise = np.zeros((2 * size, 2 * size, 3), np.float32)
    return render_frame(layers, background, np.full((1, 2), 20.0), _clean_conditions(1), noise, 0,
                        cfg, np.random.default_rng(0))


def _disc(center):
    # checkered_disc: silhouette radius 0.88 units, 10 px/unit -> 17.6 px wide
    sprite = render_class_sprite(SYNTHVID_CLASSES[1], np.random.default_rng(0))
    return Layer(sprite=sprite, trajectory=_static(center, 10.0), depth=0.5, category_id=2,
                 track_key=0)


def _occluder(center):
    """An opaque square covering center +- 12.5 px."""
    sprite = Sprite({12: np.ones((30, 30, 4), np.float32) * [0.2, 0.2, 0.2, 1.0]}, np.inf)
    return Layer(sprite=sprite, trajectory=_static(center, 10.0), depth=0.9)


@pytest.mark.parametrize('center_x, expected', [
    (50.0, [41, 31, 18, 18]),  # fully inside: the silhouette's extent
    (-3.0, [0, 32, 6, 16]),  # entering: clipped at the left border (a shorter chord)
    (94.0, [85, 31, 11, 18]),  # leaving: clipped at the right border
    (-10.0, None),  # fully outside: no annotation
])
def test_boxes_are_clipped_visible_extent(center_x, expected):
    image, boxes = _render([_disc((center_x, 40.0))])
    assert image.shape == (96, 96, 3) and image.dtype == np.uint8
    if expected is None:
        assert boxes == []
    else:
        assert len(boxes) == 1 and boxes[0].category_id == 2
        np.testing.assert_allclose(boxes[0].bbox, expected, atol=1)
        assert not boxes[0].occluded


def test_occlusion_by_distractors():
    half, = _render([_disc((50.0, 40.0)), _occluder((60.0, 40.0))])[1]
    assert half.occluded and "occlusion" in half.hard  # ~64 % hidden, box unchanged
    np.testing.assert_allclose(half.bbox, [41, 31, 18, 18], atol=1)
    assert _render([_disc((50.0, 40.0)), _occluder((50.0, 40.0))])[1] == []  # fully hidden
    behind, = _render([_occluder((50.0, 40.0)), _disc((50.0, 40.0))])[1]  # drawn first = behind
    assert not behind.occluded


def test_motion_iou_on_hand_made_tracks():
    images = [dict(id=t + 1, frame_id=t) for t in range(21)]
    still = [dict(id=t + 1, image_id=t + 1, instance_id=1, bbox=[10, 10, 20, 20])
             for t in range(21)]
    # 20x20 box moving 1 px/frame in x: IoU at distance d is (20 - d) / (20 + d)
    moving = [dict(id=100 + t, image_id=t + 1, instance_id=2, bbox=[10 + t, 10, 20, 20])
              for t in range(21)]
    ious = motion_ious(still + moving, images)
    assert ious[1] == pytest.approx(1.0)
    expected_middle = np.mean([(20 - d) / (20 + d) for d in range(1, 11)])
    assert ious[110] == pytest.approx(expected_middle)  # frame 10 sees d = 1..10 on both sides
    assert ious[100] == pytest.approx(expected_middle)  # frame 0 sees d = 1..10 on one side
    expected_late = np.mean([(20 - d) / (20 + d) for d in list(range(1, 11)) + list(range(1, 6))])
    assert ious[115] == pytest.approx(expected_late)  # frame 15: d = 1..10 before, 1..5 after
    lonely = [dict(id=500, image_id=1, instance_id=3, bbox=[0, 0, 5, 5])]
    assert 500 not in motion_ious(lonely, images)
    assert [motion_bin(v) for v in (0.95, 0.9, 0.8, 0.7, 0.5)] == [
        'slow', 'medium', 'medium', 'medium', 'fast']


def test_speeds_span_fgfa_motion_bins(tmp_path):
    """The generated tracks fall in all three of FGFA's motion-IoU bins."""
    out = str(tmp_path / 'bins')
    generate_synthvid(out, train_videos=0, val_videos=12, frames=30, size=96, seed=0, workers=1,
                      progress=False)
    data = _load(osp.join(out, 'annotations', 'synthvid_val.json'))
    fractions = motion_bin_fractions(data['annotations'], data['images'])
    print('motion-IoU bins of 12 generated videos:', fractions)
    assert all(fractions[name] >= 0.1 for name in ('slow', 'medium', 'fast')), fractions


def _sharpness(image, bbox):
    x, y, w, h = bbox
    crop = cv2.cvtColor(image[y:y + h, x:x + w], cv2.COLOR_BGR2GRAY).astype(np.float32)
    return float(cv2.Laplacian(crop, cv2.CV_32F).var())


def test_degradations_destroy_detail_and_can_be_turned_off(tmp_path):
    out = str(tmp_path / 'deg')
    generate_synthvid(out, train_videos=0, val_videos=8, frames=30, size=96, seed=1, workers=1,
                      progress=False)
    data = _load(osp.join(out, 'annotations', 'synthvid_val.json'))
    cond = {c['id']: c for c in _load(osp.join(out, 'annotations',
                                               'synthvid_val_conditions.json'))['annotations']}
    files = {img['id']: osp.join(out, 'Data', img['file_name']) for img in data['images']}
    clear, blurred = collections.defaultdict(list), collections.defaultdict(list)
    for ann in data['annotations']:
        c = cond[ann['id']]
        if min(ann['bbox'][2:]) < 12 or ann['occluded']:
            continue
        if not c['hard'] and c['blur_ratio'] < 0.15:
            clear[ann['instance_id']].append(ann)
        elif c['hard'] == ['blur']:
            blurred[ann['instance_id']].append(ann)
    ratios = []
    for track in set(clear) & set(blurred):
        sharp = np.mean([_sharpness(cv2.imread(files[a['image_id']]), a['bbox'])
                         for a in clear[track]])
        soft = np.mean([_sharpness(cv2.imread(files[a['image_id']]), a['bbox'])
                        for a in blurred[track]])
        ratios.append(soft / sharp)
    assert len(ratios) >= 2, 'too few tracks with both clear and blurred frames'
    print("Laplacian variance, blurred / clear frames of a track:", np.round(ratios, 2))
    assert np.median(ratios) < 0.5, ratios  # blurred frames of a track lose most detail
    hard = sum(1 for c in cond.values() if c['hard']) / len(cond)
    assert 0.05 < hard < 0.6

    clean = str(tmp_path / 'clean')
    generate_synthvid(clean, train_videos=0, val_videos=3, frames=20, size=96, seed=1, workers=1,
                      progress=False, degradation=0.0)
    clean_cond = _load(osp.join(clean, 'annotations', 'synthvid_val_conditions.json'))
    assert all(i['defocus'] == i['shake_blur'] == i['noise'] == i['exposure'] == 0
               for i in clean_cond['images'])
    assert all(set(c['hard']) <= {'occlusion'} for c in clean_cond['annotations'])


def test_cli(tmp_path, capsys):
    path = osp.join(REPO, 'tools', 'dataset_converters', 'make_synthvid.py')
    spec = importlib.util.spec_from_file_location('make_synthvid_cli', path)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    args = ['--out', str(tmp_path / 'sv'), '--train-videos', '1', '--val-videos', '1',
            '--frames', '3', '--size', '64', '--workers', '1', '--no-progress']
    assert cli.main(args) == 0
    assert 'generated' in capsys.readouterr().out
    assert cli.main(args) == 0
    assert 'up to date, reused' in capsys.readouterr().out
    assert cli.main(args + ['--degradation', '-1']) == 1
    assert 'degradation=-1.0 must be >= 0' in capsys.readouterr().err
