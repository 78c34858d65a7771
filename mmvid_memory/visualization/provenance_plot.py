"""Where a frame's memory came from and where its attention lands (Deng et al., Fig. 3a)."""
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

from ._figure import class_name, class_rgb, new_figure, save_figure
from .attention_views import (attention_mass_map, attention_matrix, group_sources,
                              mixing_weights, query_row_weights, read_record_of, source_title)
from .detections import as_boxes
from .geometry import (FrameView, as_frame_view, location_centres, lookup_frame,
                       query_locations)

QUERY_COLOR = (1.0, 0.1, 0.1)


def _resolve_query(view: FrameView, attn: np.ndarray, feat_hw, query: Optional[Sequence[float]],
                   object_rows: Optional[np.ndarray]) -> Dict[str, Any]:
    """Query locations and the heat map of the picture's mode.

    * ``object``: the heat is the object's attention mass; the query is its
      peak location.
    * ``query``: the heat is the mass from all rows; the query is given.
    * ``peak``: the heat is the mass from all rows; the query is its peak
      (where memory concentrates most).
    """
    if object_rows is not None:
        heat = attention_mass_map(attn, feat_hw, object_rows)
        return dict(mode='object', heat=heat, locations=np.array([int(np.argmax(heat))]))
    heat = attention_mass_map(attn, feat_hw)
    if query is None:
        return dict(mode='peak', heat=heat, locations=np.array([int(np.argmax(heat))]))
    query = [float(v) for v in query]
    if len(query) == 2:
        return dict(mode='query', heat=heat, query_xy=query,
                    locations=query_locations(view, feat_hw, query_xy=query))
    if len(query) == 4:
        return dict(mode='query', heat=heat, query_box=query,
                    locations=query_locations(view, feat_hw, query_box=query))
    raise ValueError(f'query must be a point (x, y) or a box (x1, y1, x2, y2) in frame pixels, '
                     f'got {len(query)} numbers')


def _query_point(view: FrameView, feat_hw, locations: np.ndarray) -> np.ndarray:
    """Frame-pixel centre (x, y) of the query locations."""
    centres = location_centres(locations, feat_hw, view.input_shape)
    return view.input_to_image(centres).mean(axis=0)


def _draw_current(ax, view: FrameView, resolved: Dict[str, Any], feat_hw, frame_id: int,
                  detections: Any, class_names, score_thr: float, cmap: str,
                  heading: str, fig) -> np.ndarray:
    from matplotlib.patches import Rectangle
    ax.imshow(view.rgb)
    heat = resolved['heat']
    if heat.max() > 0:
        shown = ax.imshow(heat, extent=view.map_extent(), cmap=cmap, alpha=0.5, vmin=0.0,
                          interpolation='bilinear')
        label = ('Σ w_ij over the object\'s rows' if resolved['mode'] == 'object'
                 else 'Σ_i w_ij (memory taken)')
        fig.colorbar(shown, ax=ax, fraction=0.035, pad=0.01).set_label(label, fontsize=8)
    bboxes, scores, labels = as_boxes(detections, 'detections')
    for box, score, label in zip(bboxes, scores, labels):
        if score < score_thr:
            continue
        x1, y1, x2, y2 = box
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, lw=1.5,
                               edgecolor=class_rgb(int(label))))
        ax.text(x1, y1, f'{class_name(int(label), class_names)} {score:.2f}', fontsize=7,
                color='black', va='bottom', bbox=dict(facecolor=class_rgb(int(label)), pad=1,
                                                      lw=0, alpha=0.8))
    point = _query_point(view, feat_hw, resolved['locations'])
    if 'query_box' in resolved:
        x1, y1, x2, y2 = resolved['query_box']
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, lw=1.5, ls='--',
                               edgecolor=QUERY_COLOR))
    ax.plot([point[0]], [point[1]], marker='+', ms=14, mew=2.5, color=QUERY_COLOR)
    ax.set_xlim(0, view.width)
    ax.set_ylim(view.height, 0)
    ax.set_title(heading, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return point


def _draw_source(ax, source: Dict[str, Any], view: Optional[FrameView], class_names,
                 cmap: str, vmax: float, highlight: bool) -> Optional[np.ndarray]:
    """One memory source on its frame; returns the frame-pixel point that
    the connection line starts from (None when the frame is missing)."""
    from matplotlib.patches import Rectangle
    ax.set_xticks([])
    ax.set_yticks([])
    title = (f"{source_title(source, class_names)}\n"
             f"w={source['weight']:.3f}, {len(source['rows'])} rows")
    ax.set_title(title, fontsize=7, color=QUERY_COLOR if highlight else 'black')
    for spine in ax.spines.values():
        spine.set_edgecolor(QUERY_COLOR if highlight else 'black')
        spine.set_linewidth(2.5 if highlight else 0.8)
    if view is None:
        ax.set_facecolor((0.85, 0.85, 0.85))
        ax.text(0.5, 0.5, f"frame {source['frame_id']}\nnot available", ha='center',
                va='center', fontsize=7, transform=ax.transAxes)
        return None
    ax.imshow(view.rgb)
    anchor = None
    if source['kind'] != 'instance' and min(source['source_hw']) > 0:
        centres = location_centres(source['locations'], source['source_hw'], view.input_shape)
        points = view.input_to_image(centres)
        order = np.argsort(source['row_weights'])  # strongest rows on top
        ax.scatter(points[order, 0], points[order, 1], c=source['row_weights'][order], s=9,
                   cmap=cmap, vmin=0.0, vmax=vmax, edgecolors='white', linewidths=0.3)
        weights = source['row_weights']
        anchor = (points * weights[:, None]).sum(0) / weights.sum() if weights.sum() > 0 \
            else points.mean(0)
    box = np.asarray(source['box'], dtype=np.float64)
    if np.all(np.isfinite(box)):
        x1, y1, x2, y2 = view.box_to_image(box)
        color = class_rgb(source['label']) if source['label'] >= 0 else (1, 1, 1)
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, lw=1.5, edgecolor=color))
        if anchor is None:
            anchor = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
    ax.set_xlim(0, view.width)
    ax.set_ylim(view.height, 0)
    return anchor


def _draw_bars(ax, sources: List[Dict[str, Any]], shown: int, class_names) -> None:
    ax.set_title('weight per source at the query', fontsize=9)
    if not sources:
        ax.text(0.5, 0.5, 'memory is empty', ha='center', va='center', transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    names = [source_title(s, class_names) for s in sources[:shown]]
    weights = [s['weight'] for s in sources[:shown]]
    colors = [class_rgb(s['label']) if s['kind'] == 'object' else (0.6, 0.6, 0.6)
              for s in sources[:shown]]
    if len(sources) > shown:
        names.append(f'{len(sources) - shown} other sources')
        weights.append(sum(s['weight'] for s in sources[shown:]))
        colors.append((0.85, 0.85, 0.85))
    positions = np.arange(len(names))[::-1]
    ax.barh(positions, weights, color=colors, edgecolor='black', linewidth=0.5)
    ax.set_yticks(positions)
    ax.set_yticklabels(names, fontsize=7)
    ax.tick_params(axis='x', labelsize=7)
    ax.set_xlabel('Σ over its rows of mean_j∈query w_ij', fontsize=7)


def plot_memory_provenance(frame_img: Any, state: Any, query: Optional[Sequence[float]],
                           frames_lookup: Optional[Mapping[int, Any]], out_file: str,
                           top_k: int = 8,
                           object_id: Optional[int] = None, frame_id: Optional[int] = None,
                           detections: Any = None, class_names: Optional[Sequence[str]] = None,
                           score_thr: float = 0.3, title: Optional[str] = None,
                           figsize=(12.0, 7.5), dpi: float = 100, cmap: str = 'jet'
                           ) -> Dict[str, Any]:
    """Picture one OGEM pixel-memory read: sources of the memory, and attention.

    Top row: the ``top_k`` memory sources (stored objects, background rows)
    that give the query most, each on the earlier frame it was written from,
    with its box and its rows as dots at their locations, coloured by the
    weight r_i they give the query. Bottom: the current frame with a heat map
    of attention mass (all rows, or the rows of ``object_id``), the query
    (red +) and red lines to the sources; right, the weight per source.

    Args:
        frame_img: the frame that read: (H, W, 3) uint8 BGR (network input
            = frame, scale 1) or a :class:`FrameView` with its scale factor
            and padded input size.
        state: a ``PixelMemoryState`` right after that frame (its
            ``last_read``) or a ``ReadRecord``.
        query: (x, y) or (x1, y1, x2, y2) in frame pixels; None: the
            location memory concentrates on most.
        frames_lookup: frame id -> (H, W, 3) BGR array or FrameView of the
            earlier frames (a missing frame is drawn as a grey tile).
        out_file (str): the image to write (.png, .pdf, ...).
        top_k (int): sources shown as tiles (also bars; the rest is summed).
        object_id (int, optional): show where this stored object's rows
            attend (heat map of Σ_{i∈O} w_ij); the query is then its peak.
        frame_id (int, optional): checked against the read's frame.
        detections: the frame's detections (DetDataSample, InstanceData or
            dict) in frame pixels, drawn above ``score_thr``.
        class_names (Sequence[str], optional): names by label.
        title (str, optional): figure title.
        figsize (tuple): inches; the image is figsize * dpi pixels.
        dpi (float): pixels per inch.
        cmap (str): matplotlib colour map of the attention.

    Returns:
        dict: ``frame_id``, ``mode`` ('object', 'query' or 'peak'),
        ``query_locations``, ``feat_hw``, ``memory_rows``, ``mixing``
        (Σ_i w_ij at the query, θ, β, memory share 1 - β), ``sources``
        (kind, object_id, frame_id, label, score, box, rows, weight, by
        decreasing weight) and ``out_file``.
    """
    if top_k < 1:
        raise ValueError(f'top_k must be >= 1, got {top_k}')
    if object_id is not None and query is not None:
        raise ValueError('give a query or an object_id, not both')
    record = read_record_of(state)
    if frame_id is not None and int(frame_id) != record.frame_id:
        raise ValueError(f'the recorded read is of frame {record.frame_id}, not frame {frame_id}: '
                         'plot right after the frame is detected')
    view = as_frame_view(frame_img, 'frame_img')
    attn = attention_matrix(record)
    feat_hw = tuple(int(v) for v in record.feat_hw)
    provenance = record.provenance
    object_rows = None
    if object_id is not None:
        object_rows = np.nonzero(provenance.object_id.numpy() == int(object_id))[0]
        if object_rows.size == 0:
            stored = sorted(set(int(v) for v in provenance.object_id.tolist()) - {-1})
            raise KeyError(f'object {object_id} was not in memory at frame {record.frame_id}; '
                           f'stored objects: {stored}')
    resolved = _resolve_query(view, attn, feat_hw, query, object_rows)
    row_weights = (query_row_weights(attn, resolved['locations']) if attn.shape[0]
                   else np.zeros(0))
    sources = group_sources(provenance, row_weights)
    if object_id is not None:  # the chosen object leads
        sources.sort(key=lambda s: s['kind'] != 'object' or s['object_id'] != int(object_id))
    mixing = mixing_weights(row_weights.sum()) if row_weights.size else mixing_weights(0.0)

    shown = sources[:top_k]
    fig = new_figure(figsize, dpi)
    outer = fig.add_gridspec(2, 1, height_ratios=[1.0, 2.3], hspace=0.18, left=0.03, right=0.97,
                             top=0.9, bottom=0.06)
    tiles = outer[0].subgridspec(1, max(len(shown), 4), wspace=0.08)
    bottom = outer[1].subgridspec(1, 2, width_ratios=[2.2, 1.0], wspace=0.45)
    ax_frame = fig.add_subplot(bottom[0])
    ax_bars = fig.add_subplot(bottom[1])
    heading = (f"frame {record.frame_id}: memory of {attn.shape[0]} rows; at the query "
               f"Σ_i w_ij = {mixing['total_weight']:.2f}, memory share 1-β = "
               f"{mixing['memory_share']:.2f}")
    query_point = _draw_current(ax_frame, view, resolved, feat_hw, record.frame_id, detections,
                                class_names, score_thr, cmap, heading, fig)
    vmax = max([float(s['row_weights'].max()) for s in shown if len(s['rows'])] + [1e-12])
    max_weight = max([s['weight'] for s in shown] + [1e-12])
    from matplotlib.patches import ConnectionPatch
    for col, source in enumerate(shown):
        ax = fig.add_subplot(tiles[col])
        highlight = object_id is not None and source['object_id'] == int(object_id)
        anchor = _draw_source(ax, source, lookup_frame(frames_lookup, source['frame_id']),
                              class_names, cmap, vmax, highlight)
        if anchor is not None and source['weight'] > 0:
            fig.add_artist(ConnectionPatch(
                xyA=tuple(anchor), coordsA='data', axesA=ax, xyB=tuple(query_point),
                coordsB='data', axesB=ax_frame, color=QUERY_COLOR,
                lw=0.5 + 3.0 * source['weight'] / max_weight, alpha=0.6))
    if not shown:
        ax = fig.add_subplot(tiles[0])
        ax.axis('off')
        ax.text(0.0, 0.5, 'memory is empty at this frame', fontsize=9, transform=ax.transAxes)
    _draw_bars(ax_bars, sources, top_k, class_names)
    fig.suptitle(title or f'Memory provenance and attention, frame {record.frame_id}',
                 fontsize=11)
    save_figure(fig, out_file)
    return dict(
        frame_id=record.frame_id, mode=resolved['mode'],
        query_locations=[int(v) for v in resolved['locations']], feat_hw=feat_hw,
        memory_rows=int(attn.shape[0]), mixing=mixing,
        sources=[dict(kind=s['kind'], object_id=s['object_id'], frame_id=s['frame_id'],
                      label=s['label'], score=s['score'], box=s['box'], rows=len(s['rows']),
                      weight=s['weight']) for s in sources],
        out_file=str(out_file))
