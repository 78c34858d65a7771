"""Where a feature-map location or a network-input box lies in a frame's pixels.

Memory rows remember their location as a flat index ``u * w_f + v`` into their
frame's feature map and their box in network-input coordinates (the resized,
padded image). Pictures are drawn on the original frame, so both are mapped
back with the frame's ``scale_factor`` and padded input size
(``batch_input_shape``), the geometry the detector used: a location (u, v) has
its cell centre at ((v + 0.5) * s_x, (u + 0.5) * s_y) in input coordinates,
s = input size / map size (as the OGEM write computes it).
"""
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

import numpy as np


@dataclass
class FrameView:
    """A frame as it was shown to the detector.

    Attributes:
        image (np.ndarray): (H, W, 3) uint8 BGR original frame.
        scale_factor (tuple): (s_w, s_h): network input = original * s
            (mmdet's ``scale_factor``).
        input_shape (tuple, optional): (H_in, W_in) of the padded network
            input (``batch_input_shape``); default the resized image, i.e.
            (round(H * s_h), round(W * s_w)) without padding.
    """

    image: np.ndarray
    scale_factor: Tuple[float, float] = (1.0, 1.0)
    input_shape: Optional[Tuple[int, int]] = None

    def __post_init__(self) -> None:
        image = self.image
        if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
            shape = getattr(image, 'shape', None)
            raise ValueError(f'FrameView.image must be an (H, W, 3) BGR array, got '
                             f'{type(image).__name__} of shape {shape}')
        sw, sh = (float(v) for v in self.scale_factor)
        if sw <= 0 or sh <= 0:
            raise ValueError(f'FrameView.scale_factor must be positive, got {self.scale_factor}')
        self.scale_factor = (sw, sh)
        if self.input_shape is None:
            self.input_shape = (max(1, round(image.shape[0] * sh)),
                                max(1, round(image.shape[1] * sw)))
        self.input_shape = (int(self.input_shape[0]), int(self.input_shape[1]))

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def rgb(self) -> np.ndarray:
        """(H, W, 3) uint8 RGB, for matplotlib."""
        return np.ascontiguousarray(self.image[:, :, ::-1])

    def input_to_image(self, xy: np.ndarray) -> np.ndarray:
        """Points (..., 2) (x, y) in network-input coordinates -> frame pixels."""
        xy = np.asarray(xy, dtype=np.float64)
        return xy / np.array(self.scale_factor)

    def image_to_input(self, xy: np.ndarray) -> np.ndarray:
        """Points (..., 2) (x, y) in frame pixels -> network-input coordinates."""
        xy = np.asarray(xy, dtype=np.float64)
        return xy * np.array(self.scale_factor)

    def box_to_image(self, box: Sequence[float]) -> np.ndarray:
        """(x1, y1, x2, y2) in network-input coordinates -> frame pixels (4,)."""
        box = np.asarray(box, dtype=np.float64).reshape(2, 2)
        return self.input_to_image(box).reshape(4)

    def map_extent(self) -> Tuple[float, float, float, float]:
        """(left, right, bottom, top) of the padded input in frame pixels, for
        ``imshow(extent=...)`` of a feature-map-sized heat map."""
        in_h, in_w = self.input_shape
        sw, sh = self.scale_factor
        return 0.0, in_w / sw, in_h / sh, 0.0


FrameLike = Union[np.ndarray, FrameView]


def as_frame_view(frame: Any, what: str = 'frame') -> FrameView:
    """A :class:`FrameView` from a view or a bare (H, W, 3) BGR array (scale 1)."""
    if isinstance(frame, FrameView):
        return frame
    if isinstance(frame, np.ndarray):
        return FrameView(frame)
    raise TypeError(f'{what} must be an (H, W, 3) BGR numpy array or a FrameView, '
                    f'got {type(frame).__name__}')


def lookup_frame(frames_lookup: Optional[Mapping[int, Any]], frame_id: int) -> Optional[FrameView]:
    """The frame ``frame_id`` of a mapping (None when it is not there)."""
    if frames_lookup is None:
        return None
    try:
        frame = frames_lookup[frame_id]
    except (KeyError, IndexError):
        return None
    return None if frame is None else as_frame_view(frame, f'frames_lookup[{frame_id}]')


def location_centres(locations: np.ndarray, feat_hw: Sequence[int],
                     input_hw: Sequence[int]) -> np.ndarray:
    """Cell centres of flat feature-map locations, in network-input coordinates.

    Args:
        locations (np.ndarray): (m,) flat indices ``u * w_f + v``.
        feat_hw: (h_f, w_f) of the map.
        input_hw: (H_in, W_in) of the padded network input.

    Returns:
        np.ndarray: (m, 2) float (x, y).
    """
    f_h, f_w = int(feat_hw[0]), int(feat_hw[1])
    if f_h <= 0 or f_w <= 0:
        raise ValueError(f'location_centres: feature map size must be positive, got {feat_hw}')
    locations = np.asarray(locations, dtype=np.int64).reshape(-1)
    if locations.size and (locations.min() < 0 or locations.max() >= f_h * f_w):
        raise ValueError(f'location_centres: locations in [{locations.min()}, {locations.max()}] '
                         f'outside a {f_h}x{f_w} map')
    sy, sx = float(input_hw[0]) / f_h, float(input_hw[1]) / f_w
    rows, cols = np.divmod(locations, f_w)
    return np.stack([(cols + 0.5) * sx, (rows + 0.5) * sy], axis=1)


def query_locations(view: FrameView, feat_hw: Sequence[int],
                    query_xy: Optional[Sequence[float]] = None,
                    query_box: Optional[Sequence[float]] = None) -> np.ndarray:
    """Flat locations of a map that a query point or box (frame pixels) covers.

    A point picks the cell it falls in. A box picks every cell whose centre it
    holds, or the cell under its centre when it holds none (the OGEM write's
    hard attention, Eq. 7).

    Args:
        view (FrameView): the frame that read memory.
        feat_hw: (h_f, w_f) of the map that read.
        query_xy: (x, y) in frame pixels.
        query_box: (x1, y1, x2, y2) in frame pixels.

    Returns:
        np.ndarray: (m,) int64 flat indices, m >= 1, increasing.
    """
    if (query_xy is None) == (query_box is None):
        raise ValueError('give exactly one of query_xy and query_box')
    f_h, f_w = int(feat_hw[0]), int(feat_hw[1])
    in_h, in_w = view.input_shape
    sy, sx = in_h / f_h, in_w / f_w
    if query_xy is not None:
        x, y = (float(v) for v in query_xy)
        if not (0 <= x < view.width and 0 <= y < view.height):
            raise ValueError(f'query_xy ({x}, {y}) lies outside the {view.width}x{view.height} '
                             'frame')
        xi, yi = view.image_to_input(np.array([x, y]))
        col = min(int(xi // sx), f_w - 1)
        row = min(int(yi // sy), f_h - 1)
        return np.array([row * f_w + col], dtype=np.int64)
    box = np.asarray(query_box, dtype=np.float64).reshape(-1)
    if box.size != 4 or not np.all(np.isfinite(box)) or box[2] < box[0] or box[3] < box[1]:
        raise ValueError(f'query_box must be finite (x1, y1, x2, y2) with x2 >= x1, y2 >= y1, '
                         f'got {list(box)}')
    x1, y1, x2, y2 = view.image_to_input(box.reshape(2, 2)).reshape(4)
    centres = location_centres(np.arange(f_h * f_w), feat_hw, (in_h, in_w))
    inside = ((centres[:, 0] >= x1) & (centres[:, 0] <= x2) & (centres[:, 1] >= y1)
              & (centres[:, 1] <= y2))
    picked = np.nonzero(inside)[0]
    if picked.size:
        return picked.astype(np.int64)
    col = int(np.clip((x1 + x2) / 2 // sx, 0, f_w - 1))
    row = int(np.clip((y1 + y2) / 2 // sy, 0, f_h - 1))
    return np.array([row * f_w + col], dtype=np.int64)
