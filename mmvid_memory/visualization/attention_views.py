"""Numbers behind the memory pictures, from one OGEM read (Deng et al., Eq. 1-5).

A read of memory rows i = 1..l by locations j = 1..n keeps its head-mean
attention w (l, n). Eq. 1 normalises each row over the locations j, so
Σ_j w_ij = 1 for every row: a row spreads one unit of attention over the
frame, and Σ_i w_ij (how much memory a location takes) is free. The pictures
show:

* for a stored object O, where its rows' attention lands:
  ``A_j = Σ_{i∈O} w_ij`` over the map (:func:`attention_mass_map`);
* for query locations J, which rows they take from:
  ``r_i = mean_{j∈J} w_ij`` (:func:`query_row_weights`), summed per source
  (:func:`group_sources`);
* the read's mixing at J (Eq. 3, 5): s = mean_{j∈J} Σ_i w_ij,
  θ = 1 / max(s, 1), β = 1 / (min(s, 1) + 1); memory's share of the output
  is 1 - β (:func:`mixing_weights`).
"""
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from mmvid_memory.models.memory.ogem_state import KIND_NAMES, ReadRecord, RowProvenance


def read_record_of(state_or_record: Any) -> ReadRecord:
    """The pixel-level read record of a state (its ``last_read``) or a record.

    Raises:
        ValueError: no read was recorded, or the read was not of a feature
            map (instance memory reads RoI vectors, which have no place in
            the frame).
    """
    if isinstance(state_or_record, ReadRecord):
        record = state_or_record
    else:
        if not hasattr(state_or_record, 'last_read'):
            raise TypeError(f'expected an OGEM memory state (PixelMemoryState) or a ReadRecord, '
                            f'got {type(state_or_record).__name__}')
        record = state_or_record.last_read
        if record is None:
            raise ValueError(f'{type(state_or_record).__name__} has no recorded read: run a '
                             'frame through the detector first')
    if record.feat_hw is None:
        raise ValueError('this read was of RoI vectors (instance memory) and has no feature map '
                         'to draw on; use a pixel memory point such as "pixel.0"')
    l, n = record.attn_mean.shape
    h_f, w_f = record.feat_hw
    if n != h_f * w_f:
        raise ValueError(f'read record: attention has {n} locations, its map is {h_f}x{w_f}')
    if l != len(record.provenance):
        raise ValueError(f'read record: attention has {l} rows, provenance {len(record.provenance)}')
    return record


def attention_matrix(record: ReadRecord) -> np.ndarray:
    """The head-mean attention w of a read as float64 numpy, (l, n)."""
    return record.attn_mean.detach().double().cpu().numpy()


def attention_mass_map(attn: np.ndarray, feat_hw: Sequence[int],
                       rows: Optional[np.ndarray] = None) -> np.ndarray:
    """A_j = Σ_{i ∈ rows} w_ij, laid out as the map that read.

    Args:
        attn (np.ndarray): (l, n) head-mean attention, n = h_f * w_f.
        feat_hw: (h_f, w_f).
        rows (np.ndarray, optional): row indices or an (l,) bool mask;
            default all rows.

    Returns:
        np.ndarray: (h_f, w_f); zeros when no row is selected.
    """
    attn = np.asarray(attn, dtype=np.float64)
    h_f, w_f = int(feat_hw[0]), int(feat_hw[1])
    if attn.ndim != 2 or attn.shape[1] != h_f * w_f:
        raise ValueError(f'attention_mass_map: attn must be (l, {h_f * w_f}) for a {h_f}x{w_f} '
                         f'map, got {attn.shape}')
    picked = attn if rows is None else attn[np.asarray(rows)]
    return picked.sum(axis=0).reshape(h_f, w_f)


def query_row_weights(attn: np.ndarray, query: np.ndarray) -> np.ndarray:
    """r_i = mean_{j ∈ query} w_ij: how much each row gives the query locations.

    Args:
        attn (np.ndarray): (l, n).
        query (np.ndarray): (m,) flat location indices, m >= 1.

    Returns:
        np.ndarray: (l,).
    """
    attn = np.asarray(attn, dtype=np.float64)
    query = np.asarray(query, dtype=np.int64).reshape(-1)
    if query.size == 0:
        raise ValueError('query_row_weights: no query location')
    if query.min() < 0 or query.max() >= attn.shape[1]:
        raise IndexError(f'query locations [{query.min()}, {query.max()}] outside the '
                         f'{attn.shape[1]} locations')
    return attn[:, query].mean(axis=1)


def mixing_weights(total_weight: Union[float, np.ndarray]) -> Dict[str, float]:
    """θ and β of Eq. 5 for s = Σ_i w_ij, and memory's share 1 - β of Eq. 3."""
    s = float(np.mean(total_weight))
    theta = 1.0 / max(s, 1.0)
    beta = 1.0 / (min(s, 1.0) + 1.0)
    return dict(total_weight=s, theta=theta, beta=beta, memory_share=1.0 - beta)


def group_sources(provenance: RowProvenance, row_weights: np.ndarray) -> List[Dict[str, Any]]:
    """Rows grouped by source (a stored object, a frame's background rows, an
    instance frame), by decreasing summed weight.

    Args:
        provenance (RowProvenance): the l rows of the read.
        row_weights (np.ndarray): (l,) weight per row.

    Returns:
        list[dict]: ``kind``, ``object_id``, ``frame_id``, ``label``,
        ``score``, ``box`` (network-input coordinates of its frame, NaN for
        none), ``source_hw``, ``rows`` (int64 row indices), ``locations``
        (their flat locations), ``row_weights`` and ``weight`` (their sum).
    """
    row_weights = np.asarray(row_weights, dtype=np.float64).reshape(-1)
    if row_weights.size != len(provenance):
        raise ValueError(f'group_sources: {row_weights.size} row weights for '
                         f'{len(provenance)} rows')
    kind = provenance.kind.numpy()
    object_id = provenance.object_id.numpy()
    frame_id = provenance.frame_id.numpy()
    keys = np.stack([kind, object_id, frame_id], axis=1) if len(provenance) else np.zeros((0, 3))
    sources = []
    for key in (np.unique(keys, axis=0) if len(provenance) else []):
        rows = np.nonzero(np.all(keys == key, axis=1))[0]
        first = int(rows[0])
        sources.append(dict(
            kind=KIND_NAMES[int(key[0])], object_id=int(key[1]), frame_id=int(key[2]),
            label=int(provenance.label[first]), score=float(provenance.score[first]),
            box=provenance.box[first].tolist(),
            source_hw=tuple(int(v) for v in provenance.source_hw[first].tolist()),
            rows=rows, locations=provenance.location.numpy()[rows],
            row_weights=row_weights[rows], weight=float(row_weights[rows].sum())))
    # Ties (e.g. an empty query) keep the newest first.
    sources.sort(key=lambda s: (-s['weight'], -s['frame_id'], s['object_id']))
    return sources


def source_title(source: Dict[str, Any], class_names: Optional[Sequence[str]] = None) -> str:
    """'#3 car, frame 135' / 'background, frame 40' / 'RoIs, frame 7'."""
    if source['kind'] == 'object':
        label = source['label']
        name = (class_names[label] if class_names is not None and 0 <= label < len(class_names)
                else f'class {label}')
        return f"#{source['object_id']} {name}, frame {source['frame_id']}"
    if source['kind'] == 'background':
        return f"background, frame {source['frame_id']}"
    return f"RoIs, frame {source['frame_id']}"
