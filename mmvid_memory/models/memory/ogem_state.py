"""Memory states of the object guided external memory, one per video.

Rows are stored detached: Deng et al. trains the embeddings through read (the
memory written by earlier frames is a constant input of the current frame's
read), so a write keeps no graph and memory does not grow the autograd graph
over a video.

Every row keeps its provenance (which frame, which box or RoI, class, score,
object id or 'background') so that pictures can show where memory came from.
"""
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor

from .base import MemoryState
from .ogem_write import StoredObjectInfo

KIND_OBJECT = 0
KIND_BACKGROUND = 1
KIND_INSTANCE = 2
KIND_NAMES = {KIND_OBJECT: 'object', KIND_BACKGROUND: 'background', KIND_INSTANCE: 'instance'}


@dataclass
class RowProvenance:
    """Where each memory row came from (all tensors on the CPU, length l).

    Attributes:
        kind (Tensor): (l,) int64, ``KIND_OBJECT``, ``KIND_BACKGROUND`` or
            ``KIND_INSTANCE``.
        object_id (Tensor): (l,) id of the stored object, -1 if none.
        frame_id (Tensor): (l,) frame the row was written from.
        label (Tensor): (l,) class of its object, -1 if none.
        score (Tensor): (l,) float, its object's score, NaN if none.
        box (Tensor): (l, 4) float, its object's box (network-input
            coordinates of its frame), NaN if none.
        location (Tensor): (l,) flat index ``u * w_f + v`` in its frame's
            feature map (pixel rows) or the RoI index (instance rows).
        source_hw (Tensor): (l, 2) (h_f, w_f) of its frame's feature map,
            (0, 0) for instance rows.
    """

    kind: Tensor
    object_id: Tensor
    frame_id: Tensor
    label: Tensor
    score: Tensor
    box: Tensor
    location: Tensor
    source_hw: Tensor

    @classmethod
    def build(cls, kind: int, num_rows: int, frame_id: int, location: Tensor,
              object_id: int = -1, label: int = -1, score: float = float('nan'),
              box: Optional[Tuple[float, ...]] = None,
              source_hw: Tuple[int, int] = (0, 0)) -> 'RowProvenance':
        """Provenance of ``num_rows`` rows from one source."""
        full = lambda value, dtype=torch.long: torch.full((num_rows, ), value, dtype=dtype)  # noqa
        box_t = torch.full((4, ), float('nan')) if box is None else torch.tensor(box).float()
        return cls(kind=full(kind), object_id=full(object_id), frame_id=full(frame_id),
                   label=full(label), score=full(float(score), torch.float32),
                   box=box_t.expand(num_rows, 4).clone(), location=location.long().cpu(),
                   source_hw=torch.tensor(source_hw).long().expand(num_rows, 2).clone())

    @classmethod
    def cat(cls, parts: List['RowProvenance']) -> 'RowProvenance':
        if not parts:
            return cls.build(KIND_OBJECT, 0, 0, torch.zeros(0, dtype=torch.long))
        return cls(**{name: torch.cat([getattr(p, name) for p in parts])
                      for name in cls.__dataclass_fields__})

    def __len__(self) -> int:
        return self.kind.numel()

    def row(self, index: int) -> Dict[str, Any]:
        """Provenance of one row as plain Python values."""
        kind = int(self.kind[index])
        return dict(row=int(index), kind=KIND_NAMES[kind], object_id=int(self.object_id[index]),
                    frame_id=int(self.frame_id[index]), label=int(self.label[index]),
                    score=float(self.score[index]), box=self.box[index].tolist(),
                    location=int(self.location[index]),
                    source_hw=tuple(self.source_hw[index].tolist()))


@dataclass
class ReadRecord:
    """The last read of a state, for the write's similarity and for pictures.

    Attributes:
        frame_id (int): the frame that read.
        version (int): the state's version when it read (a write after it
            changes the version, so a stale record is recognisable).
        attn_mean (Tensor): (l, n) head-mean attention of Eq. 1, detached.
        attn (Tensor): (N, l, n) per-head attention, detached.
        feat_hw (tuple | None): (h_f, w_f) of the map that read (pixel).
        provenance (RowProvenance): the l rows that were read.
    """

    frame_id: int
    version: int
    attn_mean: Tensor
    attn: Tensor
    feat_hw: Optional[Tuple[int, int]]
    provenance: RowProvenance


@dataclass
class StoredObject:
    """One detected object in pixel memory (rows of Eq. 7).

    Attributes:
        object_id (int): id, unique within the video's state.
        label (int): class.
        score (float): quality (classification score).
        frame_id (int): frame it was written from.
        box (tuple): (x1, y1, x2, y2) in that frame's network input.
        locations (Tensor): (n_p,) flat locations in that frame's map.
        feat_hw (tuple): (h_f, w_f) of that map.
        rows (Tensor): (n_p, c) detached features from F~.
    """

    object_id: int
    label: int
    score: float
    frame_id: int
    box: Tuple[float, float, float, float]
    locations: Tensor
    feat_hw: Tuple[int, int]
    rows: Tensor

    @property
    def provenance(self) -> RowProvenance:
        """Provenance of its rows (built once: an object never changes)."""
        if not hasattr(self, '_provenance'):
            self._provenance = RowProvenance.build(
                KIND_OBJECT, self.rows.shape[0], self.frame_id, self.locations,
                object_id=self.object_id, label=self.label, score=self.score, box=self.box,
                source_hw=self.feat_hw)
        return self._provenance


@dataclass
class BackgroundRows:
    """Object-irrelevant rows picked by L2 norm (one frame's, replaced whole)."""

    frame_id: int
    locations: Tensor
    feat_hw: Tuple[int, int]
    rows: Tensor

    @property
    def provenance(self) -> RowProvenance:
        return RowProvenance.build(KIND_BACKGROUND, self.rows.shape[0], self.frame_id,
                                   self.locations, source_hw=self.feat_hw)


class _VersionedState(MemoryState):
    """Shared bookkeeping: a version bumped on every change, the read record
    and a cache of the concatenated memory matrix."""

    def __init__(self) -> None:
        self.version = 0
        self.last_read: Optional[ReadRecord] = None
        self._cache: Dict[str, Any] = {}

    def _changed(self) -> None:
        self.version += 1
        self._cache = {}

    def _matrix(self) -> Optional[Tensor]:
        raise NotImplementedError

    def memory(self, like: Tensor) -> Tensor:
        """The memory matrix (l, c) on ``like``'s device and dtype.

        Args:
            like (Tensor): (n, c) features that will read it.

        Returns:
            Tensor: (l, c); (0, c) when empty.
        """
        key = ('matrix', like.device, like.dtype)
        if key not in self._cache:
            matrix = self._matrix()
            if matrix is None:
                matrix = like.new_zeros(0, like.shape[-1])
            elif matrix.shape[-1] != like.shape[-1]:
                raise ValueError(f'memory rows have {matrix.shape[-1]} channels, the features '
                                 f'reading them {like.shape[-1]}')
            self._cache = {k: v for k, v in self._cache.items() if k[0] != 'matrix'}
            self._cache[key] = matrix.to(device=like.device, dtype=like.dtype)
        return self._cache[key]

    def cached(self, key: tuple, make: Callable[[], Any]) -> Any:
        """A value derived from the current rows (e.g. their projections),
        kept until the memory changes; one value per ``key[0]``."""
        if key not in self._cache:
            self._cache = {k: v for k, v in self._cache.items()
                           if not (isinstance(k, tuple) and k[0] == key[0])}
            self._cache[key] = make()
        return self._cache[key]

    def provenance(self) -> RowProvenance:
        """Provenance of the current rows, in memory-matrix order."""
        if 'provenance' not in self._cache:
            self._cache['provenance'] = self._provenance()
        return self._cache['provenance']

    def _provenance(self) -> RowProvenance:
        raise NotImplementedError

    def record_read(self, frame_id: int, attn: Tensor,
                    feat_hw: Optional[Tuple[int, int]] = None) -> None:
        """Keep the head-mean of a read's attention (N, l, n), detached."""
        attn = attn.detach()
        self.last_read = ReadRecord(frame_id=int(frame_id), version=self.version,
                                    attn_mean=attn.mean(dim=0), attn=attn, feat_hw=feat_hw,
                                    provenance=self.provenance())


class PixelMemoryState(_VersionedState):
    """Pixel memory M_pix of one video: stored objects and background rows.

    Memory-matrix order: the objects' rows in the order they were stored,
    then the background rows.
    """

    def __init__(self) -> None:
        super().__init__()
        self.reset()

    def reset(self) -> None:
        self.objects: List[StoredObject] = []
        self.background: Optional[BackgroundRows] = None
        self.next_object_id = 0
        # n of the last written map: Table 3 counts size in such feature maps.
        self.ref_locations: Optional[int] = None
        self.max_locations_seen = 0
        self.last_read = None
        self.last_write: Dict[str, int] = {}
        self.last_similarity_ratios: List[float] = []
        self._changed()

    @property
    def num_rows(self) -> int:
        rows = sum(obj.rows.shape[0] for obj in self.objects)
        return rows + (0 if self.background is None else self.background.rows.shape[0])

    @property
    def num_background_rows(self) -> int:
        return 0 if self.background is None else self.background.rows.shape[0]

    def objects_per_class(self) -> Dict[int, int]:
        counts: Dict[int, int] = {}
        for obj in self.objects:
            counts[obj.label] = counts.get(obj.label, 0) + 1
        return counts

    def object_infos(self) -> List[StoredObjectInfo]:
        """Label, score and memory-row slice of each stored object."""
        infos, start = [], 0
        for obj in self.objects:
            stop = start + obj.rows.shape[0]
            infos.append(StoredObjectInfo(obj.label, obj.score, slice(start, stop)))
            start = stop
        return infos

    def add_object(self, rows: Tensor, label: int, score: float, frame_id: int,
                   box: Tuple[float, ...], locations: Tensor,
                   feat_hw: Tuple[int, int]) -> StoredObject:
        """Store one object's rows (detached); returns the stored object."""
        obj = StoredObject(object_id=self.next_object_id, label=int(label), score=float(score),
                           frame_id=int(frame_id), box=tuple(float(v) for v in box),
                           locations=locations.long().cpu(), feat_hw=tuple(feat_hw),
                           rows=rows.detach())
        self.next_object_id += 1
        self.objects.append(obj)
        self._changed()
        return obj

    def remove_objects(self, indices: List[int]) -> None:
        """Delete the objects at these positions of :attr:`objects`."""
        if not indices:
            return
        drop = set(int(i) for i in indices)
        if max(drop) >= len(self.objects) or min(drop) < 0:
            raise IndexError(f'remove_objects: {sorted(drop)} outside {len(self.objects)} objects')
        self.objects = [obj for i, obj in enumerate(self.objects) if i not in drop]
        self._changed()

    def replace_background(self, rows: Tensor, frame_id: int, locations: Tensor,
                           feat_hw: Tuple[int, int]) -> None:
        """The L2-norm-picked rows of a frame replace the older ones."""
        self.background = BackgroundRows(frame_id=int(frame_id), locations=locations.long().cpu(),
                                         feat_hw=tuple(feat_hw), rows=rows.detach())
        self._changed()

    def note_write(self, similarity_ratios: Optional[List[float]] = None, **counts: int) -> None:
        """What the last write did (objects written, deleted as similar
        (Eq. 8), evicted by the cap, rows removed, background rows written)
        and the D / threshold of the same-class pairs it compared, for the
        health report."""
        self.last_write = {key: int(value) for key, value in counts.items()}
        self.last_similarity_ratios = list(similarity_ratios or [])

    def note_written_map(self, num_locations: int) -> None:
        self.ref_locations = int(num_locations)
        self.max_locations_seen = max(self.max_locations_seen, int(num_locations))

    def _matrix(self) -> Optional[Tensor]:
        parts = [obj.rows for obj in self.objects]
        if self.background is not None:
            parts.append(self.background.rows)
        return torch.cat(parts) if parts else None

    def _provenance(self) -> RowProvenance:
        parts = [obj.provenance for obj in self.objects]
        if self.background is not None:
            parts.append(self.background.provenance)
        return RowProvenance.cat(parts)

    def stats(self) -> Dict[str, float]:
        """``rows``, ``objects``, ``background_rows`` and ``size``: rows over
        the locations of the last written feature map (Deng et al. Table 3)."""
        rows = self.num_rows
        size = rows / self.ref_locations if self.ref_locations else 0.0
        return dict(rows=float(rows), objects=float(len(self.objects)),
                    background_rows=float(self.num_background_rows), size=float(size))


class InstanceMemoryState(_VersionedState):
    """Instance memory M_inst of one video: the RoI features of one frame."""

    def __init__(self) -> None:
        super().__init__()
        self.reset()

    def reset(self) -> None:
        self.rows: Optional[Tensor] = None
        self.frame_id: Optional[int] = None
        self.ref_locations: Optional[int] = None
        self.last_read = None
        self._changed()

    @property
    def num_rows(self) -> int:
        return 0 if self.rows is None else self.rows.shape[0]

    def replace(self, rows: Tensor, frame_id: int, ref_locations: Optional[int] = None) -> None:
        """A frame's RoI features (K, D) replace the older instance memory.

        Args:
            rows (Tensor): (K, D) flattened RoI features, stored detached.
            frame_id (int): the frame they come from.
            ref_locations (int, optional): locations of that frame's pixel
                feature map, to report ``size`` as Table 3 counts it.
        """
        if rows.dim() != 2:
            raise ValueError(f'instance rows must be (K, D), got {tuple(rows.shape)}')
        self.rows = rows.detach()
        self.frame_id = int(frame_id)
        if ref_locations is not None:
            self.ref_locations = int(ref_locations)
        self._changed()

    def _matrix(self) -> Optional[Tensor]:
        return self.rows

    def _provenance(self) -> RowProvenance:
        if self.rows is None:
            return RowProvenance.cat([])
        return RowProvenance.build(KIND_INSTANCE, self.rows.shape[0], self.frame_id,
                                   torch.arange(self.rows.shape[0]))

    def stats(self) -> Dict[str, float]:
        """``rows`` (RoI vectors) and ``size``: rows over the locations of the
        frame's pixel feature map, as Table 3 counts instance vectors too
        (0 when empty, NaN when the writer did not give that map's size)."""
        if self.num_rows == 0:
            size = 0.0
        elif self.ref_locations:
            size = self.num_rows / self.ref_locations
        else:
            size = float('nan')
        return dict(rows=float(self.num_rows), size=float(size))
