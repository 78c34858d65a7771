"""Matplotlib figures drawn off-screen (Agg), without pyplot's global state."""
import os
import os.path as osp
from typing import Sequence, Tuple

from mmvid_memory.apis.draw import class_color


def new_figure(figsize: Tuple[float, float], dpi: float):
    """A Figure on an Agg canvas: ``figsize`` inches at ``dpi``, so the saved
    image is (round(w * dpi), round(h * dpi)) pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    if len(figsize) != 2 or min(figsize) <= 0 or dpi <= 0:
        raise ValueError(f'figsize must be two positive sizes in inches and dpi positive, got '
                         f'figsize={tuple(figsize)}, dpi={dpi}')
    fig = Figure(figsize=tuple(float(v) for v in figsize), dpi=float(dpi))
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, out_file: str) -> str:
    """Write ``fig`` (format from the extension, e.g. .png, .pdf, .svg); the
    folder is created. Returns the path."""
    out_file = str(out_file)
    folder = osp.dirname(osp.abspath(out_file))
    os.makedirs(folder, exist_ok=True)
    # No bbox_inches='tight': the saved size stays figsize * dpi.
    fig.savefig(out_file, dpi=fig.dpi)
    return out_file


def class_rgb(label: int) -> Tuple[float, float, float]:
    """The class colour of the OpenCV drawings, as matplotlib RGB in [0, 1]."""
    b, g, r = class_color(label)
    return r / 255.0, g / 255.0, b / 255.0


def class_name(label: int, class_names: Sequence[str] = None) -> str:
    if class_names is not None and 0 <= label < len(class_names):
        return str(class_names[label])
    return f'class {label}'
