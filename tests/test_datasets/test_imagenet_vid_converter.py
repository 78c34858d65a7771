"""ILSVRC2015 VID/DET -> CocoVID conversion on a tiny tree in the exact ILSVRC layout."""
import importlib.util
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import textwrap

import pytest

from mmvid_memory.datasets.converters import (IMAGENET_VID_CLASSES, InvalidAnnotationError,
                                              convert_imagenet_vid, write_json_atomic)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CAR, AIRPLANE, ZEBRA = 'n02958343', 'n02691156', 'n02391049'
NON_VID = 'n03000000'  # a DET-only class: its boxes must be dropped
TRAIN_A = 'ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000'
TRAIN_B = 'ILSVRC2015_VID_train_0001/ILSVRC2015_train_00001000'
VAL_A = 'ILSVRC2015_val_00000000'
DET_2014 = 'ILSVRC2014_train_0000/ILSVRC2014_train_00000001'
DET_NON_VID_ONLY = 'ILSVRC2014_train_0000/ILSVRC2014_train_00000002'
DET_2013 = f'ILSVRC2013_train/{AIRPLANE}/{AIRPLANE}_1000'


def _xml(objects, width=64, height=48, with_track=True):
    """ILSVRC annotation XML text; objects are (trackid, wnid, box, occluded, generated)."""
    parts = [f'<annotation><folder>x</folder><filename>y</filename>'
             f'<source><database>ILSVRC_2015</database></source>'
             f'<size><width>{width}</width><height>{height}</height></size>']
    for trackid, wnid, (x1, y1, x2, y2), occluded, generated in objects:
        track = f'<trackid>{trackid}</trackid>' if with_track else ''
        flags = (f'<occluded>{occluded}</occluded><generated>{generated}</generated>'
                 if with_track else '')
        parts.append(f'<object>{track}<name>{wnid}</name><bndbox><xmax>{x2}</xmax>'
                     f'<xmin>{x1}</xmin><ymax>{y2}</ymax><ymin>{y1}</ymin></bndbox>{flags}'
                     '</object>')
    parts.append('</annotation>')
    return ''.join(parts)


def _write(path, text):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


def _frame(root, split, snippet, frame, objects, **kwargs):
    _write(osp.join(root, 'Annotations', 'VID', split, snippet, f'{frame:06d}.xml'),
           _xml(objects, **kwargs))
    _write(osp.join(root, 'Data', 'VID', split, snippet, f'{frame:06d}.JPEG'), 'jpeg')


def make_ilsvrc_tree(root):
    """Two train snippets, one val snippet and three DET images."""
    # Train A: track 0 (car) on 3 frames, track 1 (airplane) on frame 1, frame 2 has
    # no object; the second box pokes out of the image and must be clipped.
    _frame(root, 'train', TRAIN_A, 0, [(0, CAR, (1, 2, 11, 22), 0, 0)])
    _frame(root, 'train', TRAIN_A, 1, [(0, CAR, (2, 2, 12, 22), 1, 0),
                                       (1, AIRPLANE, (50, 40, 70, 60), 0, 1)])
    _frame(root, 'train', TRAIN_A, 2, [])
    # Train B: trackid 0 again, which must become a new instance id.
    _frame(root, 'train', TRAIN_B, 0, [(0, ZEBRA, (5, 5, 25, 15), 0, 0)])
    _frame(root, 'train', TRAIN_B, 1, [(0, ZEBRA, (6, 5, 26, 15), 0, 0)])
    _write(osp.join(root, 'ImageSets', 'VID', 'train_7.txt'), f'{TRAIN_A} 1\n')
    _write(osp.join(root, 'ImageSets', 'VID', 'train_30.txt'), f'{TRAIN_B} 1\n{TRAIN_A} 1\n')
    _frame(root, 'val', VAL_A, 0, [(3, CAR, (0, 0, 10, 10), 0, 0)])
    _frame(root, 'val', VAL_A, 1, [(3, CAR, (1, 0, 11, 10), 0, 0)])
    _write(osp.join(root, 'ImageSets', 'VID', 'val.txt'), f'{VAL_A}/000000 1\n{VAL_A}/000001 2\n')
    # DET: the devkit map gives every VID class (plus one DET-only class) a DET id.
    det_ids = {wnid: 2 * i for i, (wnid, _) in enumerate(IMAGENET_VID_CLASSES, 1)}
    det_ids[NON_VID] = 1
    _write(osp.join(root, 'devkit', 'data', 'map_det.txt'),
           ''.join(f'{w} {k} name{k}\n' for w, k in det_ids.items()))
    lists = {k: [] for k in det_ids.values()}
    lists[det_ids[CAR]] += [f'{DET_2014} 1', f'{DET_NON_VID_ONLY} -1']
    lists[det_ids[AIRPLANE]] += [f'{DET_2013} 1', f'{DET_NON_VID_ONLY} 0']
    lists[det_ids[NON_VID]] += [f'{DET_NON_VID_ONLY} 1', f'{DET_2014} 1']
    for k, lines in lists.items():
        _write(osp.join(root, 'ImageSets', 'DET', f'train_{k}.txt'),
               ''.join(line + '\n' for line in lines))
    det_ann = osp.join(root, 'Annotations', 'DET', 'train')
    _write(osp.join(det_ann, DET_2014 + '.xml'),
           _xml([(None, NON_VID, (0, 0, 5, 5), 0, 0), (None, CAR, (3, 4, 13, 24), 0, 0)],
                width=100, height=80, with_track=False))
    _write(osp.join(det_ann, DET_NON_VID_ONLY + '.xml'),
           _xml([(None, NON_VID, (0, 0, 5, 5), 0, 0)], with_track=False))
    _write(osp.join(det_ann, DET_2013 + '.xml'),
           _xml([(None, AIRPLANE, (10, 10, 30, 20), 0, 0)], with_track=False))
    return root


@pytest.fixture
def ilsvrc(tmp_path):
    return make_ilsvrc_tree(str(tmp_path / 'ILSVRC2015'))


def _load(path):
    with open(path) as f:
        return json.load(f)


def test_vid_json_matches_schema(ilsvrc, tmp_path):
    out = str(tmp_path / 'annotations')
    reports = convert_imagenet_vid(ilsvrc, out, progress=False)
    assert sorted(os.listdir(out)) == [
        'imagenet_det_30cls.json', 'imagenet_vid_train.json', 'imagenet_vid_val.json']
    train = _load(osp.join(out, 'imagenet_vid_train.json'))
    assert set(train) == {'categories', 'videos', 'images', 'annotations'}
    assert len(train['categories']) == 30
    assert train['categories'][0] == dict(id=1, name='airplane', encode_name=AIRPLANE)
    assert train['categories'][29] == dict(id=30, name='zebra', encode_name=ZEBRA)
    assert train['videos'] == [dict(id=1, name=TRAIN_A), dict(id=2, name=TRAIN_B)]
    assert [(i['id'], i['video_id'], i['frame_id']) for i in train['images']] == [
        (1, 1, 0), (2, 1, 1), (3, 1, 2), (4, 2, 0), (5, 2, 1)]
    assert train['images'][2] == dict(id=3, video_id=1, frame_id=2, width=64, height=48,
                                      file_name=f'VID/train/{TRAIN_A}/000002.JPEG')
    anns = train['annotations']
    assert set(anns[0]) == {'id', 'image_id', 'video_id', 'instance_id', 'category_id', 'bbox',
                            'area', 'iscrowd', 'occluded', 'generated'}
    assert [(a['id'], a['image_id'], a['video_id'], a['instance_id'], a['category_id'])
            for a in anns] == [(1, 1, 1, 1, 7), (2, 2, 1, 1, 7), (3, 2, 1, 2, 1),
                               (4, 4, 2, 3, 30), (5, 5, 2, 3, 30)]
    assert anns[0]['bbox'] == [1, 2, 10, 20] and anns[0]['area'] == 200
    assert (anns[1]['occluded'], anns[1]['generated']) == (1, 0)
    assert (anns[2]['occluded'], anns[2]['generated']) == (0, 1)
    assert anns[2]['bbox'] == [50, 40, 14, 8]  # clipped to the 64x48 image
    assert all(a['iscrowd'] == 0 for a in anns)
    assert reports['vid_train'].empty_images == 1
    assert reports['vid_train'].class_counts['car'] == 2

    val = _load(osp.join(out, 'imagenet_vid_val.json'))
    assert val['videos'] == [dict(id=1, name=VAL_A)]
    assert [i['file_name'] for i in val['images']] == [
        f'VID/val/{VAL_A}/000000.JPEG', f'VID/val/{VAL_A}/000001.JPEG']
    assert [a['instance_id'] for a in val['annotations']] == [1, 1]


def test_det_keeps_vid_classes_as_one_frame_videos(ilsvrc, tmp_path):
    out = str(tmp_path / 'ann')
    report = convert_imagenet_vid(ilsvrc, out, splits=['det'], progress=False)['det']
    det = _load(osp.join(out, 'imagenet_det_30cls.json'))
    # Sorted image ids; the image holding only a DET-only class is not a positive of any
    # VID class (labels -1 and 0 are ignored), and the DET-only box of the car image goes.
    assert det['videos'] == [dict(id=1, name=f'train/{DET_2013}'),
                             dict(id=2, name=f'train/{DET_2014}')]
    assert [(i['video_id'], i['frame_id'], i['file_name']) for i in det['images']] == [
        (1, 0, f'DET/train/{DET_2013}.JPEG'), (2, 0, f'DET/train/{DET_2014}.JPEG')]
    assert [(a['image_id'], a['category_id'], a['bbox'], a['instance_id'])
            for a in det['annotations']] == [(1, 1, [10, 10, 20, 10], 1),
                                             (2, 7, [3, 4, 10, 20], 2)]
    assert (report.dropped_boxes, report.dropped_images) == (1, 0)


def test_det_sources_agree(ilsvrc, tmp_path):
    """The devkit map, an FGFA-style list and the no-map fallback give one DET JSON."""
    by_map = tmp_path / 'map'
    convert_imagenet_vid(ilsvrc, str(by_map), splits=['det'], progress=False)
    fgfa_list = tmp_path / 'DET_train_30classes.txt'
    fgfa_list.write_text(f'train/{DET_2014} 1 7\ntrain/{DET_2013} 1 1\n{DET_NON_VID_ONLY} 1 7\n')
    by_list = tmp_path / 'list'
    convert_imagenet_vid(ilsvrc, str(by_list), splits=['det'], det_list=str(fgfa_list),
                         progress=False)
    os.remove(osp.join(ilsvrc, 'devkit', 'data', 'map_det.txt'))
    by_scan = tmp_path / 'scan'
    report = convert_imagenet_vid(ilsvrc, str(by_scan), splits=['det'], progress=False)['det']
    assert 'no map_det.txt' in report.source
    assert (report.dropped_boxes, report.dropped_images) == (2, 1)
    files = [d / 'imagenet_det_30cls.json' for d in (by_map, by_list, by_scan)]
    assert files[0].read_text() == files[1].read_text() == files[2].read_text()


@pytest.mark.parametrize('corruption, message', [
    ('malformed', 'malformed XML'),
    ('unknown_class', "unknown class id 'n09999999'"),
    ('missing_xml', 'annotation file does not exist'),
    ('bad_box', 'xmax < xmin'),
])
def test_invalid_train_frame_names_the_file(ilsvrc, tmp_path, corruption, message):
    bad = osp.join(ilsvrc, 'Annotations', 'VID', 'train', TRAIN_B, '000001.xml')
    if corruption == 'malformed':
        _write(bad, '<annotation><size><width>64</width>')
    elif corruption == 'unknown_class':
        _write(bad, _xml([(0, 'n09999999', (1, 1, 5, 5), 0, 0)]))
    elif corruption == 'missing_xml':
        os.remove(bad)  # its JPEG is still in Data/, so the frame is listed
    else:
        _write(bad, _xml([(0, ZEBRA, (9, 1, 5, 5), 0, 0)]))
    with pytest.raises(InvalidAnnotationError, match=message) as info:
        convert_imagenet_vid(ilsvrc, str(tmp_path / 'out'), splits=['vid_train'], progress=False)
    assert info.value.path == bad and bad in str(info.value)
    assert not osp.exists(tmp_path / 'out' / 'imagenet_vid_train.json')

    report = convert_imagenet_vid(ilsvrc, str(tmp_path / 'out'), splits=['vid_train'],
                                  skip_invalid=True, progress=False)['vid_train']
    assert [path for path, _ in report.skipped] == [bad]
    train = _load(tmp_path / 'out' / 'imagenet_vid_train.json')
    assert train['videos'] == [dict(id=1, name=TRAIN_A)]  # the whole snippet is skipped
    assert len(train['images']) == 3


def test_val_frame_without_annotation_is_an_error(ilsvrc, tmp_path):
    val_list = osp.join(ilsvrc, 'ImageSets', 'VID', 'val.txt')
    with open(val_list, 'a') as f:
        f.write(f'{VAL_A}/000002 3\n')  # listed, but no XML
    with pytest.raises(InvalidAnnotationError, match='000002.xml: annotation file does not exist'):
        convert_imagenet_vid(ilsvrc, str(tmp_path), splits=['vid_val'], progress=False)


def test_non_contiguous_frames_are_an_error(ilsvrc, tmp_path):
    with open(osp.join(ilsvrc, 'ImageSets', 'VID', 'val.txt'), 'w') as f:
        f.write(f'{VAL_A}/000001 1\n')
    with pytest.raises(InvalidAnnotationError, match='numbered 0..0'):
        convert_imagenet_vid(ilsvrc, str(tmp_path), splits=['vid_val'], progress=False)


def test_failed_run_leaves_previous_json_untouched(ilsvrc, tmp_path):
    out = tmp_path / 'out'
    convert_imagenet_vid(ilsvrc, str(out), splits=['vid_train'], progress=False)
    before = (out / 'imagenet_vid_train.json').read_bytes()
    _frame(ilsvrc, 'train', TRAIN_B, 2, [(0, ZEBRA, (6, 5, 26, 15), 0, 0)])  # would change it
    _write(osp.join(ilsvrc, 'Annotations', 'VID', 'train', TRAIN_A, '000001.xml'), 'not xml')
    with pytest.raises(InvalidAnnotationError):
        convert_imagenet_vid(ilsvrc, str(out), splits=['vid_train'], progress=False)
    assert (out / 'imagenet_vid_train.json').read_bytes() == before
    assert os.listdir(out) == ['imagenet_vid_train.json']  # no temporary file left


def test_json_write_is_atomic(tmp_path):
    """A dump that fails half-way leaves the old file as it was and no temporary file."""
    path = tmp_path / 'ann.json'
    write_json_atomic({'images': [1, 2]}, str(path))
    with pytest.raises(TypeError):  # not serialisable
        write_json_atomic({'images': [1, 2, 3], 'bad': object()}, str(path))
    assert json.loads(path.read_text()) == {'images': [1, 2]}
    assert os.listdir(tmp_path) == ['ann.json']


@pytest.mark.parametrize('text', ['nan', 'NaN', 'inf', '-inf'])
def test_non_finite_coordinates_name_the_file(ilsvrc, tmp_path, text):
    bad = osp.join(ilsvrc, 'Annotations', 'VID', 'train', TRAIN_B, '000001.xml')
    _write(bad, _xml([(0, ZEBRA, (text, 5, 26, 15), 0, 0)]))
    with pytest.raises(InvalidAnnotationError, match=f'not a finite number: {text!r}') as info:
        convert_imagenet_vid(ilsvrc, str(tmp_path / 'out'), splits=['vid_train'], progress=False)
    assert info.value.path == bad
    report = convert_imagenet_vid(ilsvrc, str(tmp_path / 'out'), splits=['vid_train'],
                                  skip_invalid=True, progress=False)['vid_train']
    assert [path for path, _ in report.skipped] == [bad]
    assert 'NaN' not in (tmp_path / 'out' / 'imagenet_vid_train.json').read_text()


def test_json_refuses_nan():
    """NaN is not JSON: the writer refuses it rather than writing a bare NaN token."""
    with pytest.raises(ValueError, match='not JSON compliant'):
        write_json_atomic({'bbox': [float('nan'), 0, 1, 1]}, '/nonexistent/never-written.json')


def test_boxes_outside_the_image_are_dropped_and_counted(ilsvrc, tmp_path):
    outside = osp.join(ilsvrc, 'Annotations', 'VID', 'train', TRAIN_B, '000001.xml')
    # The 64x48 frame: one box wholly to the right, one wholly below, one inside.
    _write(outside, _xml([(0, ZEBRA, (70, 5, 90, 15), 0, 0), (1, ZEBRA, (5, 48, 25, 60), 0, 0),
                          (2, CAR, (6, 5, 26, 15), 0, 0)]))
    det = osp.join(ilsvrc, 'Annotations', 'DET', 'train', DET_2013 + '.xml')
    _write(det, _xml([(None, AIRPLANE, (-30, 10, -10, 20), 0, 0),
                      (None, AIRPLANE, (10, 10, 30, 20), 0, 0)], with_track=False))
    out = tmp_path / 'out'
    reports = convert_imagenet_vid(ilsvrc, str(out), splits=['vid_train', 'det'],
                                   progress=False)
    assert reports['vid_train'].outside_boxes == {outside: 2}
    assert reports['det'].outside_boxes == {det: 1}
    summary = reports['vid_train'].summary()
    assert 'dropped 2 box(es) wholly outside their image' in summary and outside in summary
    for name in ('imagenet_vid_train.json', 'imagenet_det_30cls.json'):
        annotations = _load(out / name)['annotations']
        assert all(ann['area'] > 0 for ann in annotations)
    train = _load(out / 'imagenet_vid_train.json')
    assert len(train['annotations']) == 3 + 1 + 1  # train A's 3, B's frame 0 and the inside box


KILLED_WRITER = textwrap.dedent('''
    import os, signal, sys
    from mmvid_memory.datasets.converters import write_json_atomic

    def die(fd):  # the data are in the temporary file; the rename never comes
        os.kill(os.getpid(), signal.SIGKILL)

    os.fsync = die
    write_json_atomic({'images': list(range(1000))}, sys.argv[1])
''')


def test_killed_write_leaves_no_hidden_file_behind(tmp_path):
    path = tmp_path / 'imagenet_vid_train.json'
    write_json_atomic({'images': [1]}, str(path))
    proc = subprocess.run([sys.executable, '-c', KILLED_WRITER, str(path)], cwd=REPO,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stdout[-2000:]
    hidden = [name for name in os.listdir(tmp_path) if name.startswith('.')]
    assert len(hidden) == 1 and '.tmp-' in hidden[0]  # what the kill left
    assert _load(path) == {'images': [1]}  # the previous file is whole
    write_json_atomic({'images': [2]}, str(path))  # the next conversion cleans up
    assert os.listdir(tmp_path) == ['imagenet_vid_train.json']


def test_missing_folders_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match='Annotations/VID/train does not exist'):
        convert_imagenet_vid(str(tmp_path), str(tmp_path / 'out'), progress=False)


def _load_cli():
    path = osp.join(REPO, 'tools', 'dataset_converters', 'imagenet_vid.py')
    spec = importlib.util.spec_from_file_location('imagenet_vid_cli', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli(ilsvrc, tmp_path, capsys):
    cli = _load_cli()
    bad = osp.join(ilsvrc, 'Annotations', 'DET', 'train', DET_2013 + '.xml')
    _write(bad, '<annotation>')
    out = str(tmp_path / 'cli')
    assert cli.main(['--root', ilsvrc, '--out', out, '--no-progress']) == 1
    err = capsys.readouterr().err
    assert bad in err and '--skip-invalid' in err
    assert cli.main(['--root', ilsvrc, '--out', out, '--no-progress', '--skip-invalid']) == 0
    printed = capsys.readouterr().out
    assert 'skipped 1 invalid item(s)' in printed and bad in printed
    assert len(os.listdir(out)) == 3
