"""Memory size per frame over a video (Deng et al., Fig. 3a's green line and Table 3)."""
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ._figure import new_figure, save_figure

# Stats drawn: rows (and background rows), size in feature maps, stored warped maps.
ROW_STATS = ('rows', 'background_rows')
SIZE_STAT = 'size'
MAPS_STAT = 'memory_maps'


def _frame_rows(stats_per_frame: Any) -> List[Dict[str, Any]]:
    if isinstance(stats_per_frame, dict) and 'frames' in stats_per_frame:
        stats_per_frame = stats_per_frame['frames']  # a benchmark report's per-video entry
    if isinstance(stats_per_frame, dict):
        raise TypeError('stats_per_frame must be a list with one entry per frame (or a dict '
                        "with 'frames'), got a dict with keys " + str(sorted(stats_per_frame)))
    return list(stats_per_frame)


def memory_series(stats_per_frame: Any) -> Tuple[np.ndarray, Dict[str, Dict[str, np.ndarray]],
                                                 Optional[np.ndarray]]:
    """Per memory point and stat, the values over frames.

    Args:
        stats_per_frame: one entry per frame, either the frame's
            ``memory_stats`` (``'<point>.<stat>' -> value``, e.g.
            ``'pixel.0.rows'``), or a dict with ``memory_stats`` and
            optionally ``frame_id`` and ``is_key_frame`` (``VideoStream.stats``,
            a benchmark report's ``frames``). None values are missing.

    Returns:
        tuple: ``frame_ids`` (T,), ``{point: {stat: (T,) float, NaN where
        missing}}`` and ``is_key`` (T,) bool or None.
    """
    rows = _frame_rows(stats_per_frame)
    if not rows:
        raise ValueError('stats_per_frame is empty: no frame to plot')
    frame_ids, keys, flat = [], [], []
    for t, row in enumerate(rows):
        if not isinstance(row, dict):
            raise TypeError(f'stats_per_frame[{t}] must be a dict, got {type(row).__name__}')
        stats = row['memory_stats'] if 'memory_stats' in row else row
        frame_ids.append(int(row.get('frame_id', t)))
        keys.append(row.get('is_key_frame'))
        flat.append({k: v for k, v in stats.items() if k not in ('frame_id', 'is_key_frame')})
    series: Dict[str, Dict[str, np.ndarray]] = {}
    for t, stats in enumerate(flat):
        for name, value in stats.items():
            point, _, stat = str(name).rpartition('.')
            if not point:
                raise ValueError(f"stats_per_frame[{t}]: key {name!r} is not '<point>.<stat>'")
            value = math.nan if value is None else float(value)
            values = series.setdefault(point, {}).setdefault(stat, np.full(len(flat), math.nan))
            values[t] = value
    is_key = None
    if any(k is not None for k in keys):
        is_key = np.array([True if k is None else bool(k) for k in keys])
    return np.array(frame_ids), series, is_key


def total_size(series: Dict[str, Dict[str, np.ndarray]]) -> Optional[np.ndarray]:
    """Σ over points of ``size``: rows of M_pix and M_inst over the locations
    of a feature map, as Deng et al.'s Table 3 counts memory; None without sizes."""
    sizes = [stats[SIZE_STAT] for stats in series.values() if SIZE_STAT in stats]
    if not sizes:
        return None
    return np.nansum(np.stack(sizes), axis=0)


def plot_memory_size(stats_per_frame: Any, out_file: str, title: Optional[str] = None,
                     figsize: Sequence[float] = (9.0, 6.0), dpi: float = 100) -> Dict[str, Any]:
    """Memory size per frame, one line per memory point.

    Panels (each only when some point reports it):
    rows per point (OGEM ``rows``, dashed ``background_rows``); size in
    feature maps (``size`` per point and their sum, with the size of one
    feature map dashed, as Deng et al.'s Fig. 3a); stored maps of warped
    memories (MemNet / ClockNet ``memory_maps``). Non-key frames (speed
    mode) are shaded.

    Args:
        stats_per_frame: see :func:`memory_series`.
        out_file (str): image to write.
        title (str, optional): figure title.
        figsize, dpi: the image is figsize * dpi pixels.

    Returns:
        dict: ``frames``, ``panels`` (names drawn) and per ``'<point>.<stat>'``
        drawn its ``mean`` and ``max`` (NaN-free).
    """
    frame_ids, series, is_key = memory_series(stats_per_frame)
    panels = []
    if any(stat in stats for stats in series.values() for stat in ROW_STATS):
        panels.append('rows')
    if any(SIZE_STAT in stats for stats in series.values()):
        panels.append('size')
    if any(MAPS_STAT in stats for stats in series.values()):
        panels.append('memory_maps')
    if not panels:
        found = sorted(f'{p}.{s}' for p, stats in series.items() for s in stats)
        raise ValueError(f"no memory size in the stats (need '<point>.rows', '.size' or "
                         f"'.memory_maps'); found {found}")
    fig = new_figure(figsize, dpi)
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    colors = {point: f'C{i}' for i, point in enumerate(sorted(series))}
    drawn: Dict[str, Dict[str, float]] = {}

    def line(ax, point, stat, label, **kwargs):
        values = series[point][stat]
        if np.all(np.isnan(values)):
            return
        marker = 'o' if len(frame_ids) <= 30 else None
        ax.plot(frame_ids, values, color=colors.get(point, 'k'), label=label, marker=marker,
                ms=3, **kwargs)
        finite = values[np.isfinite(values)]
        drawn[f'{point}.{stat}'] = dict(mean=float(finite.mean()), max=float(finite.max()))

    for ax, panel in zip(axes, panels):
        for point in sorted(series):
            stats = series[point]
            if panel == 'rows':
                if 'rows' in stats:
                    line(ax, point, 'rows', f'{point} rows')
                if 'background_rows' in stats:
                    line(ax, point, 'background_rows', f'{point} background rows', ls='--',
                         lw=1)
                ax.set_ylabel('memory rows')
            elif panel == 'size':
                if SIZE_STAT in stats:
                    line(ax, point, SIZE_STAT, point)
                ax.set_ylabel('size (feature maps)')
            elif MAPS_STAT in stats:
                line(ax, point, MAPS_STAT, f'{point} stored maps', drawstyle='steps-post')
                ax.set_ylabel('stored maps')
        if panel == 'size':
            total = total_size(series)
            if total is not None and sum(SIZE_STAT in s for s in series.values()) > 1:
                ax.plot(frame_ids, total, color='k', lw=1.5, label='total (Table 3)')
                drawn['total.size'] = dict(mean=float(np.mean(total)), max=float(np.max(total)))
            ax.axhline(1.0, color='green', ls='--', lw=1, label='one feature map')
        if is_key is not None and not is_key.all():
            for fid in frame_ids[~is_key]:
                ax.axvspan(fid - 0.5, fid + 0.5, color='0.9', lw=0, zorder=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc='upper left')
    axes[-1].set_xlabel('frame')
    fig.suptitle(title or 'Memory size per frame', fontsize=11)
    fig.tight_layout()
    save_figure(fig, out_file)
    return dict(frames=len(frame_ids), panels=panels, stats=drawn, out_file=str(out_file))
