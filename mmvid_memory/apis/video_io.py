"""Read frames from a video file (``mmcv.VideoReader``) or a folder; write annotated
videos (mp4/avi/gif)."""
import os
import os.path as osp
import re
from pathlib import Path
from typing import Iterator, List, Optional, Union

import cv2
import numpy as np

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def _natural_key(name: str) -> list:
    """'frame10.jpg' sorts after 'frame9.jpg'."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r'(\d+)', name)]


def list_frame_files(folder: Union[str, Path]) -> List[str]:
    """Image files of a folder in natural sort order (frame 2 before frame 10).

    Raises:
        FileNotFoundError: when the folder does not exist or holds no image.
    """
    folder = str(folder)
    if not osp.isdir(folder):
        raise FileNotFoundError(f'frame folder {folder!r} does not exist')
    names = [n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS)]
    if not names:
        raise FileNotFoundError(f'frame folder {folder!r} holds no image '
                                f'({", ".join(IMAGE_EXTENSIONS)})')
    return [osp.join(folder, n) for n in sorted(names, key=_natural_key)]


def read_image(path: str) -> np.ndarray:
    """An (H, W, 3) uint8 BGR image; raises when the file cannot be decoded."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise IOError(f'cannot read image {path!r}')
    return img


def open_video(source: Union[str, Path]):
    """An ``mmcv.VideoReader`` of a video file, with errors that name the file.

    Returns:
        mmcv.VideoReader: Iterable over (H, W, 3) uint8 BGR frames; a context
        manager that releases the capture.

    Raises:
        FileNotFoundError: The file does not exist.
        IOError: OpenCV cannot decode it.
    """
    import mmcv
    source = str(source)
    if not osp.isfile(source):
        raise FileNotFoundError(f'video {source!r} does not exist')
    reader = mmcv.VideoReader(source)
    if not reader.opened:
        raise IOError(f'OpenCV cannot open video {source!r}')
    return reader


def iter_video_frames(source: Union[str, Path]) -> Iterator[np.ndarray]:
    """(H, W, 3) uint8 BGR frames of a video file or of a folder of images, in order."""
    source = str(source)
    if osp.isdir(source):
        for path in list_frame_files(source):
            yield read_image(path)
        return
    with open_video(source) as reader:  # releases the capture also when the caller stops early
        yield from reader


def video_fps(source: Union[str, Path], default: float = 10.0) -> float:
    """Frames per second of a video file; ``default`` for folders or when unknown."""
    source = str(source)
    if osp.isdir(source) or not osp.isfile(source):
        return default
    try:
        reader = open_video(source)
    except IOError:
        return default
    with reader:
        fps = reader.fps
    return float(fps) if fps and fps > 0 and np.isfinite(fps) else default


def check_sink_path(path: Union[str, Path]) -> str:
    """The output path of a :class:`VideoSink`, checked before any work is done.

    Raises:
        ValueError: The suffix is not ``.mp4``, ``.avi`` or ``.gif``.
    """
    path = str(path)
    ext = osp.splitext(path)[1].lower()
    if ext not in VideoSink.FOURCC and ext != '.gif':
        raise ValueError(f'output {path!r}: use .mp4, .avi or .gif')
    return path


def num_frames_hint(source: Union[str, Path]) -> int:
    """How many frames a video file or frame folder holds, for progress bars.

    Folders count their images; files report the container's frame count,
    which may be off or 0 (unknown): iterate to know.
    """
    source = str(source)
    if osp.isdir(source):
        return len(list_frame_files(source))
    with open_video(source) as reader:
        return max(int(reader.frame_cnt), 0)


class VideoSink:
    """Write (H, W, 3) uint8 BGR frames to ``.mp4``/``.avi`` (OpenCV) or ``.gif`` (Pillow).

    The size is taken from the first frame; later frames of another size are
    resized to it. Use as a context manager or call :meth:`close`.

    Args:
        path (str): output file; its folder is created.
        fps (float): frames per second.
    """

    FOURCC = {'.mp4': 'mp4v', '.avi': 'MJPG'}

    def __init__(self, path: Union[str, Path], fps: float = 10.0) -> None:
        self.path = check_sink_path(path)
        self.ext = osp.splitext(self.path)[1].lower()
        if fps <= 0:
            raise ValueError(f'fps must be > 0, got {fps}')
        self.fps = float(fps)
        self.num_frames = 0
        self._size: Optional[tuple] = None
        self._writer: Optional[cv2.VideoWriter] = None
        self._gif_frames: list = []
        self._closed = False
        folder = osp.dirname(osp.abspath(self.path))
        os.makedirs(folder, exist_ok=True)

    def write(self, frame: np.ndarray) -> None:
        if self._closed:
            raise RuntimeError(f'VideoSink {self.path!r} is closed')
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f'VideoSink takes (H, W, 3) uint8 BGR frames, got shape '
                             f'{tuple(frame.shape)} dtype {frame.dtype}')
        if self._size is None:
            self._size = (frame.shape[1], frame.shape[0])  # (w, h)
            if self.ext != '.gif':
                fourcc = cv2.VideoWriter_fourcc(*self.FOURCC[self.ext])
                self._writer = cv2.VideoWriter(self.path, fourcc, self.fps, self._size)
                if not self._writer.isOpened():
                    raise IOError(f'OpenCV cannot write {self.path!r} with codec '
                                  f'{self.FOURCC[self.ext]}')
        if (frame.shape[1], frame.shape[0]) != self._size:
            frame = cv2.resize(frame, self._size)
        if self._writer is not None:
            self._writer.write(np.ascontiguousarray(frame))
        else:
            from PIL import Image
            self._gif_frames.append(Image.fromarray(frame[:, :, ::-1].copy()))
        self.num_frames += 1

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            self._writer.release()
        elif self._gif_frames:
            duration_ms = max(1, round(1000.0 / self.fps))
            first, rest = self._gif_frames[0], self._gif_frames[1:]
            first.save(self.path, save_all=True, append_images=rest, duration=duration_ms,
                       loop=0, disposal=1)
            self._gif_frames = []

    def __enter__(self) -> 'VideoSink':
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def count_video_frames(path: Union[str, Path]) -> int:
    """Frames in a video or gif file, counted by decoding them."""
    path = str(path)
    if path.lower().endswith('.gif'):
        from PIL import Image
        with Image.open(path) as img:
            return int(getattr(img, 'n_frames', 1))
    return sum(1 for _ in iter_video_frames(path))
