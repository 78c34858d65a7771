"""write_demo_figures end to end on a tiny SynthVID with untrained tiny models."""
import os

import numpy as np
import pytest
from PIL import Image

from mmvid_memory.visualization import load_val_video, pick_fast_video, write_demo_figures
from mmvid_memory.visualization.demo_figures import pick_models
from mmvid_memory.visualization.val_video import fast_fractions, load_annotations

CLIP = 48  # panel size of the tiny clip


def _row(name, family, model, mAP, ms, memory_size=None):
    return dict(name=name, family=family, config=model['config'],
                checkpoint=model['checkpoint'], note='', mAP=mAP, mAP_slow=mAP + 5,
                mAP_medium=mAP, mAP_fast=mAP - 5, ms_per_frame=ms, memory_size=memory_size,
                train_minutes=None)


@pytest.fixture
def rows(tiny_models):
    return [_row('tiny base', 'baseline', tiny_models['baseline'], 20.0, 5.0),
            _row('tiny OGEM', 'OGEM', tiny_models['ogem'], 25.0, 9.0, 1.5)]


def test_val_video_picks_the_fastest_and_keeps_its_boxes(tiny_synthvid):
    data = load_annotations(str(tiny_synthvid / 'annotations' / 'synthvid_val.json'))
    fractions = fast_fractions(data)
    index = pick_fast_video(data)
    chosen = data['videos'][index]['id']
    assert fractions.get(chosen, -1) == max(fractions.values(), default=-1)
    video = load_val_video(str(tiny_synthvid), max_frames=4)
    assert video.video_id == chosen and len(video) == 4 and video.frame_ids == [0, 1, 2, 3]
    assert all(os.path.isfile(p) for p in video.img_paths)
    image = data['images'][[i['video_id'] for i in data['images']].index(chosen)]
    anns = [a for a in data['annotations'] if a['image_id'] == image['id']]
    x, y, w, h = anns[0]['bbox']
    np.testing.assert_allclose(video.gt[0]['bboxes'][0], [x, y, x + w, y + h])
    assert video.gt[0]['labels'][0] == anns[0]['category_id'] - 1  # ids 1.. -> labels 0..
    other = load_val_video(str(tiny_synthvid), video_index=1 - index)
    assert other.video_id != chosen
    with pytest.raises(IndexError, match='video index 5'):
        load_val_video(str(tiny_synthvid), video_index=5)
    with pytest.raises(FileNotFoundError, match='annotation file'):
        load_val_video(str(tiny_synthvid / 'nowhere'))


def test_pick_models():
    rows = [dict(name='b', family='baseline', mAP=30.0), dict(name='b2', family='baseline',
                                                               mAP=99.0),
            dict(name='m', family='MemNet', mAP=35.0), dict(name='o', family='OGEM', mAP=31.0)]
    ogem, baseline, best = pick_models(rows)
    assert (ogem['name'], baseline['name'], best['name']) == ('o', 'b', 'm')
    assert pick_models(rows[:2]) == (None, rows[0], None)


def test_end_to_end(tmp_path, tiny_synthvid, rows):
    out = tmp_path / 'figs'
    written = write_demo_figures(rows, str(out), data_root=str(tiny_synthvid), max_frames=4,
                                 clip_size=CLIP)
    names = [os.path.basename(p) for p in written]
    assert names[:3] == ['speed_accuracy.png', 'memory_size.png', 'side_by_side.gif']
    assert set(names) <= {'speed_accuracy.png', 'memory_size.png', 'side_by_side.gif',
                          'side_by_side.mp4'}
    for path in written:
        assert os.path.getsize(path) > 0 and os.path.dirname(path) == str(out)
    gif = Image.open(out / 'side_by_side.gif')
    assert gif.n_frames == 4
    assert gif.size[0] == 2 * CLIP + 4  # two panels and the separator


def test_missing_models_skip_or_fail(tmp_path, tiny_synthvid, rows, capsys):
    # only the baseline: the scatter alone, with the reasons printed
    written = write_demo_figures(rows[:1], str(tmp_path / 'a'), data_root=str(tiny_synthvid),
                                 max_frames=2, clip_size=CLIP)
    assert [os.path.basename(p) for p in written] == ['speed_accuracy.png']
    printed = capsys.readouterr().out
    assert 'no memory_size.png' in printed and 'no side-by-side clip' in printed
    # a missing checkpoint is named before anything is drawn
    broken = [rows[0], dict(rows[1], checkpoint=str(tmp_path / 'gone.pth'))]
    with pytest.raises(FileNotFoundError, match="'tiny OGEM': checkpoint"):
        write_demo_figures(broken, str(tmp_path / 'b'), data_root=str(tiny_synthvid))
    assert not (tmp_path / 'b').exists()
    with pytest.raises(KeyError, match='lacks'):
        write_demo_figures([dict(name='x', mAP=1.0)], str(tmp_path / 'c'))
