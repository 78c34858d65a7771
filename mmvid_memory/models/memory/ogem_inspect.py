"""Which memory rows a location attended to, for pictures like Deng et al. Fig. 3.

Use the state's ``last_read`` record (attention and the provenance of the
rows that were read), which survives the write that follows the read::

    rec = state.last_read
    top = top_attended_rows(rec.attn_mean, rec.provenance, query_index=j, k=5)
    per_source = attention_per_source(rec.attn_mean, rec.provenance, query_index=j)
"""
from typing import Any, Dict, List

import torch
from torch import Tensor

from .ogem_state import KIND_NAMES, RowProvenance


def _column(attn: Tensor, provenance: RowProvenance, query_index: int) -> Tensor:
    """Head-mean attention w_ij of every row i for location j, (l,)."""
    if attn.dim() == 3:
        attn = attn.mean(dim=0)
    if attn.dim() != 2:
        raise ValueError(f'attn must be (N, l, n) or (l, n), got {tuple(attn.shape)}')
    if attn.shape[0] != len(provenance):
        raise ValueError(f'attn has {attn.shape[0]} memory rows, provenance {len(provenance)}: '
                         'use the provenance recorded with that read')
    if not 0 <= query_index < attn.shape[1]:
        raise IndexError(f'query_index {query_index} outside the {attn.shape[1]} locations')
    return attn[:, query_index].detach().float().cpu()


def top_attended_rows(attn: Tensor, provenance: RowProvenance, query_index: int,
                      k: int = 5) -> List[Dict[str, Any]]:
    """The k memory rows with the largest weight for one query location.

    Args:
        attn (Tensor): (N, l, n) per-head or (l, n) head-mean attention of a
            read.
        provenance (RowProvenance): the l rows that read used.
        query_index (int): location j (flat ``u * w_f + v``) or RoI index.
        k (int): how many rows.

    Returns:
        list[dict]: by decreasing weight, each row's provenance
        (:meth:`RowProvenance.row`) plus ``weight``.
    """
    weights = _column(attn, provenance, query_index)
    values, rows = torch.topk(weights, min(k, weights.numel()))
    return [dict(provenance.row(int(r)), weight=float(v)) for v, r in zip(values, rows)]


def attention_per_source(attn: Tensor, provenance: RowProvenance,
                         query_index: int) -> List[Dict[str, Any]]:
    """Total weight each source (stored object, background, instance frame)
    gives one query location, by decreasing weight.

    Returns:
        list[dict]: ``kind``, ``object_id``, ``frame_id``, ``label``,
        ``box``, ``rows`` (how many rows) and ``weight`` (their sum).
    """
    weights = _column(attn, provenance, query_index)
    sources: Dict[tuple, Dict[str, Any]] = {}
    for row in range(len(provenance)):
        key = (int(provenance.kind[row]), int(provenance.object_id[row]),
               int(provenance.frame_id[row]))
        if key not in sources:
            info = provenance.row(row)
            sources[key] = dict(kind=KIND_NAMES[key[0]], object_id=key[1], frame_id=key[2],
                                label=info['label'], box=info['box'], rows=0, weight=0.0)
        sources[key]['rows'] += 1
        sources[key]['weight'] += float(weights[row])
    return sorted(sources.values(), key=lambda s: -s['weight'])
