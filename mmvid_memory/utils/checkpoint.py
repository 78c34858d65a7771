"""Let the MMEngine runner resume under torch's ``weights_only`` loading.

torch >= 2.6 loads checkpoints with ``weights_only=True`` by default, and
mmengine 0.10.7 passes no flag, so ``resume=True`` fails on objects that the
runner itself saved: numpy arrays and scalars in the message hub and meta, and
the message hub's ``HistoryBuffer`` objects. Instead of switching the safety
off, the exact classes and reconstructors the runner writes are added to
torch's allow-list of safe globals. Anything else in a checkpoint is still
refused.

One more thing stands in the way: ``HistoryBuffer.__getstate__`` pickles the
class's statistics functions, which pickle as ``builtins.getattr(HistoryBuffer,
'min')``, and allowing ``getattr`` would open the door to arbitrary code. Those
functions are class-level and restored by ``HistoryBuffer.__setstate__``
anyway, so the buffer is saved without them (:func:`_history_buffer_getstate`).
Checkpoints written before ``mmvid_memory`` was imported still carry them and
load only with an explicit ``weights_only=False`` from a trusted source.
"""
from typing import List

import numpy as np
import torch


def _numpy_globals() -> List[object]:
    """The numpy callables and classes that pickles of arrays/scalars name."""
    try:  # numpy >= 2
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray
    safe: List[object] = [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype]
    # numpy 2 pickles dtypes by their class, e.g. numpy.dtypes.Float64DType.
    dtype_classes = {type(np.dtype(code)) for code in np.typecodes['All'] if code not in 'Mm'}
    dtype_classes |= {type(np.dtype('M8[s]')), type(np.dtype('m8[s]'))}
    safe.extend(sorted(dtype_classes, key=lambda c: c.__name__))
    return safe


def runner_checkpoint_safe_globals() -> List[object]:
    """All globals that an MMEngine runner's checkpoint may reference."""
    from mmengine.logging.history_buffer import HistoryBuffer
    return _numpy_globals() + [HistoryBuffer]


def _history_buffer_getstate(self) -> dict:
    """Pickle state of a HistoryBuffer without its statistics functions."""
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    return state


_REGISTERED = False


def setup_torch_load_allowlist() -> None:
    """Add the runner's own types to ``torch.serialization``'s safe globals.

    Idempotent. Has no effect on torch versions without the allow-list API.
    """
    global _REGISTERED
    if _REGISTERED or not hasattr(torch.serialization, 'add_safe_globals'):
        return
    from mmengine.logging.history_buffer import HistoryBuffer
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    torch.serialization.add_safe_globals(runner_checkpoint_safe_globals())
    _REGISTERED = True
