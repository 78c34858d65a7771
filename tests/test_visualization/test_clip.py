"""Side-by-side composition and clips: boxes land in their own panel only."""
import numpy as np
import pytest
from PIL import Image

from mmvid_memory.visualization import compose_side_by_side, draw_dashed_box, side_by_side_clip
from mmvid_memory.visualization.clip import SEPARATOR

H, W = 64, 80
BAR = max(14, min(28, H // 8))  # the title bar's height in compose_side_by_side
BOX = (10.0, 12.0, 50.0, 40.0)


def _frame():
    return np.full((H, W, 3), 90, dtype=np.uint8)


def _panels(out):
    left = out[BAR:BAR + H, :W].astype(int)
    right = out[BAR:BAR + H, W + SEPARATOR:2 * W + SEPARATOR].astype(int)
    return left, right


def _edge_coverage(changed, box):
    """Share of the box outline (left, right, bottom edges; the top one holds
    the label) with a changed pixel within 1 px."""
    x1, y1, x2, y2 = (int(v) for v in box)
    hits = [changed[y, x - 1:x + 2].any() for x in (x1, x2) for y in range(y1, y2 + 1)]
    hits += [changed[y2 - 1:y2 + 2, x].any() for x in range(x1, x2 + 1)]
    return float(np.mean(hits))


def test_boxes_only_in_their_panel():
    det = dict(bboxes=np.array([BOX]), scores=np.array([0.9]), labels=np.array([1]))
    out = compose_side_by_side(_frame(), det, None, ('a', 'b'), ('model A', 'model B'))
    assert out.dtype == np.uint8 and out.shape[0] % 2 == 0 and out.shape[1] % 2 == 0
    assert out.shape[:2] == (BAR + H, 2 * W + SEPARATOR)
    assert (out[:, W:W + SEPARATOR] == 255).all()  # the white gap
    left, right = _panels(out)
    assert (right == 90).all()  # nothing drawn on B
    changed = np.abs(left - 90).sum(axis=2) > 0
    assert _edge_coverage(changed, BOX) == 1.0  # A's box outline is drawn
    # far from the box (and its label above it) A's panel is untouched
    assert not changed[50:, 60:].any()


def test_score_threshold_and_ground_truth_on_both():
    weak = dict(bboxes=np.array([BOX]), scores=np.array([0.1]), labels=np.array([0]))
    gt = dict(bboxes=np.array([[20.0, 20.0, 60.0, 50.0]]), labels=np.array([2]))
    out = compose_side_by_side(_frame(), weak, None, None, ('A', 'B'), score_thr=0.3, gt=gt)
    left, right = _panels(out)
    np.testing.assert_array_equal(left, right)  # the weak box is not drawn; gt on both
    assert (left != 90).any()


def test_dashed_box_has_gaps():
    image = np.zeros((H, W, 3), np.uint8)
    draw_dashed_box(image, (4, 10, 70, 40.0), (255, 255, 255), dash=4)
    top = image[10, 10:65, 0] > 0  # the top edge, away from the corners
    assert top.mean() > 0.3 and not top.all()
    assert not image[20:30, 20:50].any()  # the inside stays empty
    draw_dashed_box(image, (0, 0, float('nan'), 5), (255, 255, 255))  # not finite: skipped


def test_clip_gif_frames_and_errors(tmp_path):
    frames = [_frame() for _ in range(3)]
    det = [dict(bboxes=np.array([BOX]), scores=np.array([0.9]), labels=np.array([0]))] * 3
    out = tmp_path / 'clip.gif'
    assert side_by_side_clip(frames, det, [None] * 3, None, str(out), frame_ids=[0, 1, 2]) == 3
    gif = Image.open(out)
    assert gif.n_frames == 3 and gif.size == (2 * W + SEPARATOR, BAR + H)
    with pytest.raises(ValueError, match='lengths differ'):
        side_by_side_clip(frames, det[:2], [None] * 3, None, str(tmp_path / 'x.gif'))
    with pytest.raises(ValueError, match='uint8'):
        compose_side_by_side(np.zeros((H, W, 3), np.float32), None, None, None, ('a', 'b'))
