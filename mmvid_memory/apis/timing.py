"""Time a detector per module without touching its code.

:class:`ModuleTimer` replaces bound methods of the model's *instances* (e.g.
``model.detector.extract_feat``, ``model.pixel_memory.read``) by timed
wrappers while it is active and puts the originals back afterwards. Times are
exclusive: a timed call inside another (the instance memory read runs inside
the RoI head) counts for the inner section only. On CUDA every boundary
synchronises, so the times are those of the kernels, not of their launch.

Example::

    with ModuleTimer(model) as timer:
        for frame in frames:
            with timer.frame():
                result = stream.push(frame)
    print(summarize_timings(timer.records, warmup=5))
"""
import math
import time
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

SECTIONS = ('backbone', 'memory_read', 'memory_write', 'heads')
TimingPoints = Dict[str, List[Tuple[nn.Module, str]]]


def default_timing_points(model: nn.Module) -> TimingPoints:
    """The methods whose time makes each section, for memory and plain detectors.

    * backbone: ``extract_feat`` of the (wrapped) detector (backbone + neck);
    * memory_read / memory_write: ``read`` / ``write`` of ``pixel_memory``
      and ``instance_memory``;
    * heads: ``rpn_head.predict`` and ``roi_head.predict`` (two-stage) or
      ``bbox_head.predict`` (single-stage).

    Returns:
        dict: section -> list of (module instance, method name); every
        section of :data:`SECTIONS` is present, possibly empty.
    """
    det = model.detector if isinstance(getattr(model, 'detector', None), nn.Module) else model
    points: TimingPoints = {name: [] for name in SECTIONS}
    if callable(getattr(det, 'extract_feat', None)):
        points['backbone'].append((det, 'extract_feat'))
    for attr in ('pixel_memory', 'instance_memory'):
        memory = getattr(model, attr, None)
        if memory is not None:
            points['memory_read'].append((memory, 'read'))
            points['memory_write'].append((memory, 'write'))
    for head in ('rpn_head', 'roi_head', 'bbox_head'):
        module = getattr(det, head, None)
        if isinstance(module, nn.Module) and callable(getattr(module, 'predict', None)):
            points['heads'].append((module, 'predict'))
    return points


def _model_on_cuda(model: nn.Module) -> bool:
    param = next(model.parameters(), None)
    return param is not None and param.is_cuda


class ModuleTimer:
    """Exclusive wall time of named sections of a model, per frame.

    Args:
        model (nn.Module): the model; only used to find the default points
            and the device.
        points (dict, optional): section -> [(module, method name)]; default
            :func:`default_timing_points`.
        sync (bool, optional): call ``torch.cuda.synchronize()`` at every
            boundary; default: when the model is on CUDA.
        clock (callable): seconds; ``time.perf_counter`` by default.

    Attributes:
        records (list[dict]): per finished :meth:`frame`: milliseconds per
            section, ``total`` and ``other`` (total minus the sections).
    """

    def __init__(self, model: nn.Module, points: Optional[TimingPoints] = None,
                 sync: Optional[bool] = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.points = default_timing_points(model) if points is None else points
        self.sections = tuple(self.points)
        self.sync = _model_on_cuda(model) if sync is None else bool(sync)
        self.clock = clock
        self.records: List[Dict[str, float]] = []
        self._patched: List[Tuple[nn.Module, str, bool, object]] = []
        self._stack: List[List[float]] = []  # [start, time of nested sections]
        self._frame: Optional[Dict[str, float]] = None

    # ------------------------------------------------------------- patching
    def _now(self) -> float:
        if self.sync:
            torch.cuda.synchronize()
        return self.clock()

    def _wrap(self, section: str, method: Callable) -> Callable:
        def timed(*args, **kwargs):
            if self._frame is None:  # outside a timed frame: run untimed
                return method(*args, **kwargs)
            self._stack.append([self._now(), 0.0])
            try:
                return method(*args, **kwargs)
            finally:
                start, nested = self._stack.pop()
                elapsed = self._now() - start
                self._frame[section] += (elapsed - nested) * 1000.0
                if self._stack:
                    self._stack[-1][1] += elapsed
        timed.__wrapped__ = method
        return timed

    def __enter__(self) -> 'ModuleTimer':
        if self._patched:
            raise RuntimeError('ModuleTimer is already active')
        try:
            for section, methods in self.points.items():
                for module, name in methods:
                    if not callable(getattr(module, name, None)):
                        raise AttributeError(f'timing point {section}: {type(module).__name__} '
                                             f'has no method {name!r}')
                    had_own = name in module.__dict__
                    original = module.__dict__.get(name)
                    # Attribute set on the instance: shadows the class method
                    # for calls through self.<name> as well.
                    object.__setattr__(module, name, self._wrap(section, getattr(module, name)))
                    self._patched.append((module, name, had_own, original))
        except Exception:
            self._restore()
            raise
        return self

    def _restore(self) -> None:
        for module, name, had_own, original in reversed(self._patched):
            if had_own:
                object.__setattr__(module, name, original)
            else:
                object.__delattr__(module, name)
        self._patched = []

    def __exit__(self, *exc_info) -> None:
        self._restore()

    # --------------------------------------------------------------- frames
    @contextmanager
    def frame(self) -> Iterator[Dict[str, float]]:
        """Time one frame; its record is appended to :attr:`records` at the end."""
        if self._frame is not None:
            raise RuntimeError('ModuleTimer.frame() does not nest')
        self._frame = {name: 0.0 for name in self.sections}
        record = self._frame
        start = self._now()
        try:
            yield record
        finally:
            total = (self._now() - start) * 1000.0
            self._frame = None
            self._stack = []
        record['total'] = total
        record['other'] = total - sum(record[name] for name in self.sections)
        self.records.append(record)

    @property
    def last(self) -> Dict[str, float]:
        if not self.records:
            raise IndexError('no frame has been timed yet')
        return self.records[-1]


def summarize_timings(records: Sequence[Dict[str, float]], warmup: int = 0
                      ) -> Dict[str, object]:
    """Mean milliseconds per frame of each section after ``warmup`` frames, and fps.

    Args:
        records: :attr:`ModuleTimer.records`.
        warmup (int): leading frames left out.

    Returns:
        dict: ``frames`` (counted), ``fps`` (1000 / mean total),
        ``ms_per_frame`` (section -> mean ms, with ``total`` and ``other``)
        and ``share`` (section -> fraction of the total).
    """
    if warmup < 0:
        raise ValueError(f'warmup must be >= 0, got {warmup}')
    timed = list(records[warmup:])
    if not timed:
        raise ValueError(f'no frame left to summarize: {len(records)} frames timed, '
                         f'warmup {warmup}')
    keys = list(timed[0])
    ms = {key: sum(r[key] for r in timed) / len(timed) for key in keys}
    total = ms['total']
    return dict(
        frames=len(timed),
        fps=1000.0 / total if total > 0 else math.inf,
        ms_per_frame=ms,
        share={key: (ms[key] / total if total > 0 else 0.0) for key in keys if key != 'total'})
