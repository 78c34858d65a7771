"""mAP against runtime, one point per model (Vu et al., Fig. 6)."""
import math
from typing import Any, Dict, List, Optional, Sequence

from ._figure import new_figure, save_figure

SPLITS = ('slow', 'medium', 'fast')
SPLIT_MARKERS = {'slow': 'v', 'medium': 'o', 'fast': '^'}
FAMILY_STYLE = {  # marker, colour
    'baseline': ('s', 'C7'),
    'OGEM': ('o', 'C3'),
    'MemNet': ('^', 'C0'),
    'ClockNet': ('D', 'C2'),
    'other': ('P', 'C4'),
}
# Substrings of a model's name, lower case, first match wins.
_FAMILY_HINTS = (('ogem', 'OGEM'), ('clocknet', 'ClockNet'), ('clock', 'ClockNet'),
                 ('memnet', 'MemNet'), ('memory warp', 'MemNet'), ('r-fcn', 'baseline'),
                 ('rfcn', 'baseline'), ('faster', 'baseline'), ('retina', 'baseline'),
                 ('single', 'baseline'), ('baseline', 'baseline'))


def infer_family(name: str) -> str:
    """'baseline', 'OGEM', 'MemNet', 'ClockNet' or 'other' from a model's name."""
    lower = str(name).lower()
    for hint, family in _FAMILY_HINTS:
        if hint in lower:
            return family
    return 'other'


def _number(row: Dict[str, Any], key: str) -> Optional[float]:
    for name in (key, f'vid/{key}'):
        value = row.get(name)
        if value is not None:
            value = float(value)
            return value if math.isfinite(value) else None
    return None


def speed_accuracy_points(rows: Sequence[Dict[str, Any]], x: str = 'ms') -> List[Dict[str, Any]]:
    """Validated points of the plot.

    Args:
        rows: dicts with ``name``, ``mAP`` and ``ms_per_frame`` or ``fps``;
            optional ``mAP_slow``, ``mAP_medium``, ``mAP_fast``,
            ``memory_size``, ``family`` (keys may carry VIDMetric's ``vid/``
            prefix).
        x (str): 'ms' (ms per frame) or 'fps'.

    Returns:
        list[dict]: ``name``, ``family``, ``x``, ``mAP``, ``splits``
        ({split: mAP} of those given) and ``memory_size`` (or None).
    """
    if x not in ('ms', 'fps'):
        raise ValueError(f"x must be 'ms' or 'fps', got {x!r}")
    if not rows:
        raise ValueError('no rows to plot')
    points = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise TypeError(f'row {i} must be a dict, got {type(row).__name__}')
        name = row.get('name')
        if not name:
            raise KeyError(f'row {i} has no name: {row}')
        mean_ap = _number(row, 'mAP')
        if mean_ap is None:
            raise KeyError(f'row {i} ({name}) has no mAP')
        ms, fps = _number(row, 'ms_per_frame'), _number(row, 'fps')
        if ms is None and fps is None:
            raise KeyError(f'row {i} ({name}) has neither ms_per_frame nor fps')
        if (ms is not None and ms <= 0) or (fps is not None and fps <= 0):
            raise ValueError(f'row {i} ({name}): ms_per_frame {ms} and fps {fps} must be > 0')
        if x == 'ms':
            value = ms if ms is not None else 1000.0 / fps
        else:
            value = fps if fps is not None else 1000.0 / ms
        family = row.get('family') or infer_family(name)
        if family not in FAMILY_STYLE:
            raise ValueError(f'row {i} ({name}): family {family!r} is not one of '
                             f'{sorted(FAMILY_STYLE)}')
        splits = {s: _number(row, f'mAP_{s}') for s in SPLITS}
        points.append(dict(name=str(name), family=family, x=value, mAP=mean_ap,
                           splits={s: v for s, v in splits.items() if v is not None},
                           memory_size=_number(row, 'memory_size')))
    return points


def plot_speed_accuracy(rows: Sequence[Dict[str, Any]], out_file: str, x: str = 'ms',
                        show_splits: bool = True, mAP_in: Optional[str] = None,
                        title: Optional[str] = None, figsize: Sequence[float] = (11.0, 5.0),
                        dpi: float = 100) -> Dict[str, Any]:
    """Scatter of mAP against runtime, one labelled point per model.

    Marker and colour by family (baseline / OGEM / MemNet / ClockNet /
    other); a model's memory size (feature maps, Deng et al. Table 3) is added to
    its label. With ``show_splits`` and any split mAP given, a second panel
    shows the slow / medium / fast mAPs of each model (small markers, joined
    per model).

    Args:
        rows: see :func:`speed_accuracy_points`.
        out_file (str): image to write.
        x (str): 'ms' (runtime per frame, lower is better) or 'fps'.
        show_splits (bool): draw the motion-speed panel.
        mAP_in (str, optional): the unit of the rows' mAPs, 'fraction'
            (VIDMetric's 0..1, shown x 100) or 'percent' (shown as they are);
            default 'fraction' when every mAP is <= 1. Pass it when the rows
            are known to be in % (run_demo's): weak models can score <= 1 %.
        title (str, optional): figure title.
        figsize, dpi: the image is figsize * dpi pixels (one panel keeps
            the width).

    Returns:
        dict: ``points`` (as plotted, mAP in %), ``panels``, ``mAP_in``
        (the unit read) and ``out_file``.
    """
    if mAP_in not in (None, 'fraction', 'percent'):
        raise ValueError(f"mAP_in must be 'fraction', 'percent' or None, got {mAP_in!r}")
    points = speed_accuracy_points(rows, x)
    values = [p['mAP'] for p in points] + [v for p in points for v in p['splits'].values()]
    if mAP_in is None:
        mAP_in = 'fraction' if all(v <= 1.0 for v in values) else 'percent'
    scale = 100.0 if mAP_in == 'fraction' else 1.0
    for p in points:
        p['mAP'] *= scale
        p['splits'] = {s: v * scale for s, v in p['splits'].items()}
    with_splits = show_splits and any(p['splits'] for p in points)
    fig = new_figure(figsize, dpi)
    axes = fig.subplots(1, 2 if with_splits else 1, squeeze=False)[0]
    x_label = 'runtime (ms per frame)' if x == 'ms' else 'frames per second'
    y_label = 'mAP (%)'

    ax = axes[0]
    for family, (marker, color) in FAMILY_STYLE.items():
        members = [p for p in points if p['family'] == family]
        if members:
            ax.scatter([p['x'] for p in members], [p['mAP'] for p in members], marker=marker,
                       color=color, s=70, edgecolors='black', linewidths=0.6, label=family,
                       zorder=3)
    for p in points:
        label = p['name']
        if p['memory_size'] is not None:
            label += f" ({p['memory_size']:.2g} maps)"
        ax.annotate(label, (p['x'], p['mAP']), xytext=(5, 5), textcoords='offset points',
                    fontsize=8)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.set_title('overall', fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc='best')
    ax.margins(0.15)

    if with_splits:
        ax = axes[1]
        for p in points:
            if not p['splits']:
                continue
            color = FAMILY_STYLE[p['family']][1]
            ordered = [s for s in SPLITS if s in p['splits']]
            ax.plot([p['x']] * len(ordered), [p['splits'][s] for s in ordered], color=color,
                    lw=0.8, alpha=0.6, zorder=2)
            for s in ordered:
                ax.scatter([p['x']], [p['splits'][s]], marker=SPLIT_MARKERS[s], color=color,
                           s=25, edgecolors='black', linewidths=0.4, zorder=3)
            top = max(p['splits'].values())
            ax.annotate(p['name'], (p['x'], top), xytext=(4, 4), textcoords='offset points',
                        fontsize=7)
        for s in SPLITS:  # legend of the split markers, in neutral grey
            ax.scatter([], [], marker=SPLIT_MARKERS[s], color='0.6', edgecolors='black',
                       linewidths=0.4, label=s)
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        ax.set_title('by motion speed (FGFA splits)', fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc='best')
        ax.margins(0.15)
    if x == 'ms':  # faster to the left, as in Vu et al.'s Fig. 6
        for ax in axes:
            ax.set_xlim(left=0)
    fig.suptitle(title or 'Speed and accuracy', fontsize=11)
    fig.tight_layout()
    save_figure(fig, out_file)
    return dict(points=points, panels=['overall'] + (['splits'] if with_splits else []),
                mAP_in=mAP_in, out_file=str(out_file))
