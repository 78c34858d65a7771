"""The speed-accuracy scatter (Vu et al., Fig. 6 in spirit)."""
import cv2
import numpy as np
import pytest
from matplotlib.colors import to_rgb

from mmvid_memory.visualization import infer_family, plot_speed_accuracy, speed_accuracy_points
from mmvid_memory.visualization.speed_accuracy_plot import FAMILY_STYLE

ROWS = [  # as tools/run_demo.py's result rows: mAP in %
    dict(name='R-FCN-18', family='baseline', mAP=40.0, mAP_slow=50.0, mAP_medium=41.0,
         mAP_fast=30.0, ms_per_frame=60.0, memory_size=None),
    dict(name='OGEM pix+inst', family='OGEM', mAP=45.0, mAP_slow=52.0, mAP_medium=46.0,
         mAP_fast=38.0, ms_per_frame=90.0, memory_size=3.2),
    dict(name='MemNet', family='MemNet', mAP=43.0, mAP_slow=51.0, mAP_medium=44.0,
         mAP_fast=33.0, ms_per_frame=120.0, memory_size=1.0),
]


def _has_colour(image_bgr: np.ndarray, rgb, tol: int = 12) -> bool:
    target = np.array([round(255 * c) for c in rgb[::-1]])
    return bool((np.abs(image_bgr.astype(int) - target).max(axis=2) <= tol).any())


def test_scatter_written_with_one_point_per_row(tmp_path):
    out = tmp_path / 'sa.png'
    report = plot_speed_accuracy(ROWS, str(out), mAP_in='percent', figsize=(8, 4), dpi=50)
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    image = cv2.imread(str(out))
    assert image.shape == (200, 400, 3)  # figsize * dpi
    assert report['panels'] == ['overall', 'splits'] and report['mAP_in'] == 'percent'
    assert [(p['name'], p['family'], p['x'], p['mAP']) for p in report['points']] == [
        (r['name'], r['family'], r['ms_per_frame'], r['mAP']) for r in ROWS]
    assert report['points'][1]['splits'] == dict(slow=52.0, medium=46.0, fast=38.0)
    assert report['points'][0]['memory_size'] is None
    # every family's marker colour is on the picture; ClockNet (no row) is not
    for family in ('baseline', 'OGEM', 'MemNet'):
        assert _has_colour(image, to_rgb(FAMILY_STYLE[family][1])), family
    assert not _has_colour(image, to_rgb(FAMILY_STYLE['ClockNet'][1]))


def test_units_and_x_axis(tmp_path):
    # VIDMetric's fractions are shown in %; rows already in % stay as they are, even <= 1 %
    fractions = [dict(name='a', family='OGEM', mAP=0.5, ms_per_frame=10.0)]
    report = plot_speed_accuracy(fractions, str(tmp_path / 'a.png'), x='fps')
    assert report['mAP_in'] == 'fraction' and report['points'][0]['mAP'] == pytest.approx(50.0)
    assert report['points'][0]['x'] == pytest.approx(100.0)  # 1000 / 10 ms
    weak = [dict(name='a', family='OGEM', mAP=0.5, fps=4.0)]
    report = plot_speed_accuracy(weak, str(tmp_path / 'b.png'), mAP_in='percent')
    assert report['points'][0]['mAP'] == 0.5 and report['points'][0]['x'] == 250.0
    assert report['panels'] == ['overall']  # no split mAPs given
    with pytest.raises(ValueError, match='mAP_in'):
        plot_speed_accuracy(weak, str(tmp_path / 'c.png'), mAP_in='%')


def test_points_validation_and_family_inference():
    assert infer_family('OGEM pix+inst') == 'OGEM' and infer_family('R-FCN-18') == 'baseline'
    assert infer_family('mystery') == 'other'
    points = speed_accuracy_points([{'name': 'ClockNet 1/4/8', 'vid/mAP': 0.4,
                                     'ms_per_frame': 5}])
    assert points[0]['family'] == 'ClockNet' and points[0]['mAP'] == 0.4
    with pytest.raises(ValueError, match='no rows'):
        speed_accuracy_points([])
    with pytest.raises(KeyError, match='no mAP'):
        speed_accuracy_points([dict(name='x', ms_per_frame=1.0)])
    with pytest.raises(KeyError, match='neither ms_per_frame nor fps'):
        speed_accuracy_points([dict(name='x', mAP=1.0)])
    with pytest.raises(ValueError, match='must be > 0'):
        speed_accuracy_points([dict(name='x', mAP=1.0, ms_per_frame=0.0)])
    with pytest.raises(ValueError, match='family'):
        speed_accuracy_points([dict(name='x', mAP=1.0, ms_per_frame=1.0, family='FGFA')])
