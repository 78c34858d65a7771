"""Memory size per frame from a synthetic series (Deng et al., Fig. 3a)."""
import math

import cv2
import numpy as np
import pytest

from mmvid_memory.visualization import memory_series, plot_memory_size, total_size


def _ogem_stats(num_frames: int = 8):
    """``VideoStream.stats``-like rows: pixel memory grows by 10 rows a frame
    over a 10x10 map, instance memory holds 5 RoI vectors; frame 3 is not a key
    frame and has no instance size."""
    rows = []
    for t in range(num_frames):
        pix = 10.0 * (t + 1)
        rows.append(dict(frame_id=t, is_key_frame=t != 3, memory_stats={
            'pixel.0.rows': pix, 'pixel.0.background_rows': 2.0,
            'pixel.0.size': pix / 100.0, 'instance.rows': 5.0,
            'instance.size': None if t == 3 else 0.05}))
    return rows


def test_series_from_stream_stats():
    frame_ids, series, is_key = memory_series(_ogem_stats())
    assert frame_ids.tolist() == list(range(8))
    assert sorted(series) == ['instance', 'pixel.0']
    np.testing.assert_allclose(series['pixel.0']['rows'], 10.0 * np.arange(1, 9))
    assert math.isnan(series['instance']['size'][3])
    assert is_key.tolist() == [t != 3 for t in range(8)]
    total = total_size(series)  # NaN counts as nothing
    np.testing.assert_allclose(total, np.arange(1, 9) / 10.0 + np.where(np.arange(8) == 3, 0, .05))
    # a benchmark report's per-video entry works too
    assert memory_series(dict(frames=_ogem_stats(2)))[0].tolist() == [0, 1]


def test_plot_written_with_rows_and_size_panels(tmp_path):
    out = tmp_path / 'mem.png'
    report = plot_memory_size(_ogem_stats(), str(out), figsize=(6, 4), dpi=50)
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert cv2.imread(str(out)).shape == (200, 300, 3)
    assert report['frames'] == 8 and report['panels'] == ['rows', 'size']
    assert report['stats']['pixel.0.rows'] == dict(mean=45.0, max=80.0)
    assert report['stats']['instance.size']['mean'] == pytest.approx(0.05)
    assert report['stats']['total.size']['max'] == pytest.approx(0.85)


def test_warped_memory_maps_panel(tmp_path):
    stats = [{'memory.memory_maps': float(min(t, 3))} for t in range(5)]  # bare memory_stats
    report = plot_memory_size(stats, str(tmp_path / 'maps.png'), dpi=40)
    assert report['panels'] == ['memory_maps']
    assert report["stats"]["memory.memory_maps"] == dict(mean=1.8, max=3.0)  # (0+1+2+3+3)/5


def test_bad_series():
    with pytest.raises(ValueError, match='empty'):
        memory_series([])
    with pytest.raises(TypeError, match='one entry per frame'):
        memory_series({'pixel.0.rows': 1.0})
    with pytest.raises(ValueError, match="'<point>.<stat>'"):
        memory_series([{'rows': 1.0}])
    with pytest.raises(ValueError, match='no memory size'):
        plot_memory_size([{'pixel.0.objects': 1.0}], '/tmp/never_written.png')
