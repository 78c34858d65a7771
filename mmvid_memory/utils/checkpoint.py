"""Safe, checked loading of checkpoint files.

torch >= 2.6 loads with ``weights_only=True``, and mmengine 0.10.7 passes no
flag, so resuming fails on what the runner itself saved: numpy arrays and
scalars in the message hub and meta, and the message hub's ``HistoryBuffer``.
Allow-listing numpy's reconstructors is not safe by itself: ``numpy.dtype``'s
``__setstate__`` accepts a structured dtype whose object field lost its
"holds references" flags, and numpy then reads raw bytes of the file as object
pointers (a crafted file crashes or worse). So every local checkpoint the
project loads goes through :func:`load_checkpoint_file`:

1. a file that is empty, not a torch checkpoint, a published checkpoint
   whose content does not match its hash suffix, or a zip archive whose CRCs
   do not match (bytes changed on disk) is refused with an error naming it;
2. its pickle is first run through :class:`_DryRunUnpickler`, which builds
   nothing real: numpy objects become inert stand-ins that check every
   argument and state against what numpy writes for plain numeric dtypes,
   arrays and scalars (no object, structured, sub-array or datetime dtypes;
   buffer sizes must match shapes), and any global other than those and
   torch's own is refused;
3. only then is it read by ``torch.load(weights_only=True)`` with the numpy
   names and ``HistoryBuffer`` allowed *for that call only*
   (:func:`safe_checkpoint_globals`); a plain ``torch.load`` elsewhere in the
   process keeps torch's defaults.

``import mmvid_memory`` registers :func:`load_checkpoint_file` as mmengine's
loader of local paths (``CheckpointLoader``, used by the runner's
``load_from``/``resume``, ``init_cfg=dict(type='Pretrained')`` and
``load_checkpoint``), see :func:`install_checkpoint_safety`.

``HistoryBuffer.__getstate__`` pickles the class's statistics functions as
``builtins.getattr(HistoryBuffer, 'min')``, and allowing ``getattr`` would
open the door to arbitrary code. They are class-level and restored by
``HistoryBuffer.__setstate__`` anyway, so the buffer is saved without them
(:func:`_history_buffer_getstate`). Checkpoints written by a process that did
not import ``mmvid_memory`` still carry them and are refused.
"""
import _compat_pickle
import codecs
import contextlib
import io
import math
import os
import os.path as osp
import pickle
import re
import zipfile
from collections import OrderedDict
from typing import IO, Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple, Union

import numpy as np
import torch

from .published import HASH_SUFFIX, resolve_shipped_checkpoint, verify_published


class CheckpointError(ValueError):
    """A checkpoint file cannot be used; the message names the file and why."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint holds something a weights-only checkpoint never needs."""


class CheckpointMismatchError(CheckpointError):
    """A checkpoint's weights do not fit the model (strict loading)."""


# ----------------------------------------------------------------- numpy names
try:  # numpy >= 2
    from numpy._core import multiarray as _multiarray
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _multiarray

#: numpy's pickled names for its array/scalar reconstructors; numpy 1.x wrote
#: ``numpy.core.multiarray``, numpy 2 writes ``numpy._core.multiarray``.
_RECONSTRUCT_NAMES = ('numpy.core.multiarray._reconstruct', 'numpy._core.multiarray._reconstruct')
_SCALAR_NAMES = ('numpy.core.multiarray.scalar', 'numpy._core.multiarray.scalar')

#: The dtypes a runner checkpoint holds: booleans, integers, floats, complex.
#: ``dtype.str[1:]`` codes (``'f8'``), the form numpy pickles them in.
_NUMERIC_TYPES = (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
                  np.uint32, np.uint64, np.float16, np.float32, np.float64, np.complex64,
                  np.complex128)
NUMERIC_DTYPE_CODES: Dict[str, np.dtype] = {np.dtype(t).str[1:]: np.dtype(t)
                                            for t in _NUMERIC_TYPES}
_BYTE_ORDERS = ('<', '>', '|', '=')


def _numeric_dtype_classes() -> List[type]:
    """numpy 2's per-dtype classes (``numpy.dtypes.Float64DType``) of the numeric dtypes.

    A dtype object's ``BUILD`` needs its class in the allow-list.
    """
    return sorted({type(dtype) for dtype in NUMERIC_DTYPE_CODES.values()},
                  key=lambda cls: cls.__name__)


def runner_checkpoint_safe_globals() -> List[Union[object, Tuple[object, str]]]:
    """What an MMEngine runner's checkpoint may reference besides torch's own types.

    For ``torch.serialization.safe_globals``: numpy's array and scalar
    reconstructors (under their numpy 1 and numpy 2 names), ``ndarray``,
    ``dtype`` and the numeric dtype classes, ``bytes`` (empty bytes) and
    mmengine's ``HistoryBuffer``.
    Only safe after :class:`_DryRunUnpickler` has checked the file.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    # bytes: protocol 2 pickles empty bytes (an empty array's buffer) as bytes().
    safe: List[Union[object, Tuple[object, str]]] = [np.ndarray, np.dtype, HistoryBuffer, bytes]
    safe += [(_multiarray._reconstruct, name) for name in _RECONSTRUCT_NAMES]
    safe += [(_multiarray.scalar, name) for name in _SCALAR_NAMES]
    safe += _numeric_dtype_classes()
    return safe


def safe_checkpoint_globals() -> contextlib.AbstractContextManager:
    """Allow :func:`runner_checkpoint_safe_globals` for the ``torch.load`` calls
    inside the ``with`` block only."""
    return torch.serialization.safe_globals(runner_checkpoint_safe_globals())


# ---------------------------------------------------------- the dry-run pickle
class _Opaque:
    """Stands for a torch object (tensor, storage, OrderedDict, ...) in the dry run.

    torch's own weights-only unpickler decides about those in the real load;
    here they only have to let the pickle program run.
    """

    def __new__(cls, *args, **kwargs):
        return super().__new__(cls)

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __call__(self, *args, **kwargs) -> '_Opaque':
        return _Opaque()

    def __setstate__(self, state: Any) -> None:
        pass

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def append(self, value: Any) -> None:
        pass

    def extend(self, values: Iterable[Any]) -> None:
        pass


class _FakeDType:
    """A checked stand-in for ``numpy.dtype(code, align, copy)`` and its state."""

    def __init__(self, code: Any = None, align: Any = False, copy: Any = True, *,
                 _from_class: Optional[np.dtype] = None) -> None:
        if _from_class is not None:
            self.dtype = _from_class
            return
        if not isinstance(code, str) or code not in NUMERIC_DTYPE_CODES:
            raise UnsafeCheckpointError(
                f'numpy dtype {code!r}: only plain numeric dtypes '
                f'({", ".join(sorted(NUMERIC_DTYPE_CODES))}) are accepted in a checkpoint '
                '(object, structured, sub-array and string dtypes are refused)')
        if align is not False or copy is not True:
            raise UnsafeCheckpointError(f'numpy dtype {code!r} with align={align!r}, '
                                        f'copy={copy!r}: not what numpy writes')
        self.dtype = NUMERIC_DTYPE_CODES[code]

    def __setstate__(self, state: Any) -> None:
        # What numpy writes for a numeric dtype: (3, byteorder, subarray=None,
        # names=None, fields=None, elsize=-1, alignment=-1, flags=0).
        if not isinstance(state, tuple) or len(state) != 8:
            raise UnsafeCheckpointError(f'numpy dtype {self.dtype}: unexpected state {state!r}')
        version, order, subarray, names, fields, elsize, alignment, flags = state
        expected_order = ('|', ) if self.dtype.itemsize == 1 else ('<', '>', '=')
        if (version != 3 or order not in expected_order or subarray is not None
                or names is not None or fields is not None or elsize != -1
                or alignment != -1 or flags != 0):
            raise UnsafeCheckpointError(
                f'numpy dtype {self.dtype}: its pickled state {state!r} is not that of a plain '
                'numeric dtype (altered fields or flags)')


class _FakeNDArrayClass:
    """Stands for the class ``numpy.ndarray``: only valid as ``_reconstruct``'s first argument."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise UnsafeCheckpointError('calls numpy.ndarray(...) directly (an array over raw '
                                    'memory); numpy never pickles arrays that way')


def _check_bytes(data: Any, what: str) -> bytes:
    if not isinstance(data, (bytes, bytearray)):
        raise UnsafeCheckpointError(f'{what}: expected raw bytes, got {type(data).__name__} '
                                    '(object arrays and scalars are refused)')
    return bytes(data)


class _FakeArray:
    """A checked stand-in for ``_reconstruct(ndarray, (0,), b'b')`` and its state."""

    def __init__(self, subtype: Any = None, shape: Any = None, typecode: Any = None) -> None:
        if subtype is not _FakeNDArrayClass:
            raise UnsafeCheckpointError('numpy _reconstruct of a class other than numpy.ndarray '
                                        f'({subtype!r})')
        if shape != (0, ) or _check_bytes(typecode, 'numpy _reconstruct') != b'b':
            raise UnsafeCheckpointError(f'numpy _reconstruct with arguments {shape!r}, '
                                        f'{typecode!r}: not what numpy writes')

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) != 5:
            raise UnsafeCheckpointError(f'numpy array: unexpected state of {len(state)} items'
                                        if isinstance(state, tuple) else
                                        f'numpy array: unexpected state {type(state).__name__}')
        version, shape, dtype, fortran, data = state
        if version != 1 or not isinstance(fortran, bool):
            raise UnsafeCheckpointError(f'numpy array: unexpected state header {version!r}, '
                                        f'{fortran!r}')
        if not isinstance(dtype, _FakeDType):
            raise UnsafeCheckpointError(f'numpy array of dtype {type(dtype).__name__}: only '
                                        'plain numeric dtypes are accepted')
        if not isinstance(shape, tuple) or not all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
            raise UnsafeCheckpointError(f'numpy array: bad shape {shape!r}')
        data = _check_bytes(data, f'numpy array of shape {shape}')
        expected = math.prod(shape) * dtype.dtype.itemsize
        if len(data) != expected:
            raise UnsafeCheckpointError(
                f'numpy array of shape {shape} and dtype {dtype.dtype} needs {expected} bytes, '
                f'the file gives {len(data)} (out-of-bounds buffer)')


def _fake_scalar(dtype: Any = None, data: Any = None) -> _Opaque:
    """A checked stand-in for ``numpy.core.multiarray.scalar(dtype, raw bytes)``."""
    if not isinstance(dtype, _FakeDType):
        raise UnsafeCheckpointError(f'numpy scalar of dtype {type(dtype).__name__}: only plain '
                                    'numeric dtypes are accepted (object scalars are refused)')
    data = _check_bytes(data, f'numpy scalar of dtype {dtype.dtype}')
    if len(data) != dtype.dtype.itemsize:
        raise UnsafeCheckpointError(f'numpy scalar of dtype {dtype.dtype} needs '
                                    f'{dtype.dtype.itemsize} bytes, the file gives {len(data)}')
    return _Opaque()


def _fake_encode(text: Any = None, encoding: Any = 'utf-8', *args: Any) -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it for bytes: str -> latin-1 bytes."""
    if args or not isinstance(text, str) or not isinstance(encoding, str) or \
            codecs.lookup(encoding).name not in ('iso8859-1', 'utf-8'):
        raise UnsafeCheckpointError(f'_codecs.encode with arguments {encoding!r}: only the '
                                    'latin-1 strings of pickled bytes are accepted')
    return text.encode(encoding)


def _fake_bytes(*args: Any) -> bytes:
    """``builtins.bytes`` as protocol-2 pickles use it: ``bytes()`` for empty bytes (the
    buffer of an empty array). Any argument could ask for a huge allocation."""
    if args:
        raise UnsafeCheckpointError(f'calls bytes with arguments {args[:1]!r}...; pickles only '
                                    'call bytes() for empty bytes')
    return b''


class _FakeHistoryBuffer:
    """A checked stand-in for mmengine's ``HistoryBuffer`` (NEWOBJ + BUILD of its dict)."""

    #: ``HistoryBuffer.__dict__`` keys; mmengine's own ``__getstate__`` adds
    #: ``statistics_methods`` (functions), which this package's does not save.
    KEYS = {'max_length', '_log_history', '_count_history', 'statistics_methods'}

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict) or not set(state) <= self.KEYS:
            keys = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise UnsafeCheckpointError(f'HistoryBuffer with unexpected state {keys}')
        if state.get('statistics_methods'):
            raise UnsafeCheckpointError('HistoryBuffer carrying functions (statistics_methods)')
        for key in ('_log_history', '_count_history'):
            if key in state and not isinstance(state[key], _FakeArray):
                raise UnsafeCheckpointError(f'HistoryBuffer.{key} is a '
                                            f'{type(state[key]).__name__}, not a numpy array')


def _dry_run_globals() -> Dict[str, Any]:
    fakes: Dict[str, Any] = {
        'numpy.dtype': _FakeDType,
        'numpy.ndarray': _FakeNDArrayClass,
        '_codecs.encode': _fake_encode,
        'builtins.bytes': _fake_bytes,
        'mmengine.logging.history_buffer.HistoryBuffer': _FakeHistoryBuffer,
    }
    fakes.update({name: _FakeArray for name in _RECONSTRUCT_NAMES})
    fakes.update({name: _fake_scalar for name in _SCALAR_NAMES})
    for dtype in NUMERIC_DTYPE_CODES.values():
        cls = type(dtype)
        fakes[f'{cls.__module__}.{cls.__qualname__}'] = (
            lambda *args, _dtype=dtype: _FakeDType(_from_class=_dtype))
    return fakes


def _torch_allowed_names() -> Set[str]:
    try:
        from torch._weights_only_unpickler import _get_allowed_globals
        return set(_get_allowed_globals())
    except (ImportError, AttributeError):  # pragma: no cover - other torch versions
        return {'collections.OrderedDict', 'torch._utils._rebuild_tensor_v2',
                'torch._utils._rebuild_parameter'}


class _DryRunUnpickler(pickle.Unpickler):
    """Runs a checkpoint's pickle with inert, checking stand-ins (see the module doc)."""

    def __init__(self, file: IO[bytes]) -> None:
        super().__init__(file, encoding='latin1')
        self._fakes = _dry_run_globals()
        self._torch_names = _torch_allowed_names()

    def find_class(self, module: str, name: str) -> Any:
        # Protocol-2 pickles name Python 2 modules (``__builtin__``), mapped
        # as pickle and torch do.
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        full = f'{module}.{name}'
        if full in self._fakes:
            return self._fakes[full]
        if full in self._torch_names or module == 'torch' or module.startswith('torch.'):
            # torch's own unpickler checks these in the real load.
            return _Opaque
        raise UnsafeCheckpointError(f'refers to {full}, which a checkpoint of weights never '
                                    'needs')

    def persistent_load(self, pid: Any) -> _Opaque:
        return _Opaque()


#: The first pickle of torch's legacy (non-zip) format.
_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c


def _dry_run(stream: IO[bytes]) -> None:
    try:
        _DryRunUnpickler(stream).load()
    except UnsafeCheckpointError:
        raise
    except RecursionError:
        raise UnsafeCheckpointError('its pickle nests too deeply') from None
    except Exception as err:  # a malformed pickle program
        raise CheckpointError(f'its pickle is malformed ({type(err).__name__}: {err})') from None


def check_checkpoint_pickle(f: IO[bytes]) -> None:
    """Dry-run the pickle(s) of an open checkpoint file; the position is restored.

    Raises:
        UnsafeCheckpointError: Something other than tensors, containers,
            plain numeric numpy values and ``HistoryBuffer`` objects.
        CheckpointError: Not a torch checkpoint, or malformed.
    """
    start = f.tell()
    try:
        if zipfile.is_zipfile(f):
            f.seek(start)
            with zipfile.ZipFile(f) as archive:
                pickles = [n for n in archive.namelist() if n.endswith('/data.pkl')
                           or n == 'data.pkl']
                if len(pickles) != 1:
                    raise CheckpointError(f'a zip archive with {len(pickles)} data.pkl records '
                                          '(not a torch.save file)')
                with archive.open(pickles[0]) as pkl:
                    _dry_run(io.BytesIO(pkl.read()))
            return
        f.seek(start)
        head = f.read(4)
        f.seek(start)
        if head == b'PK\x03\x04':
            raise CheckpointError('a truncated or damaged zip archive (its central directory '
                                  'is missing): the file is incomplete or corrupted')
        if len(head) < 2 or head[0] != pickle.PROTO[0]:
            raise CheckpointError(f'not a PyTorch checkpoint (neither a zip archive nor a '
                                  f'pickle; it starts with {f.read(16)!r})')
        # Legacy format: magic number, protocol, sys info, then the object.
        try:
            magic = pickle.load(f)
        except Exception:
            magic = None
        if magic != _LEGACY_MAGIC:
            raise CheckpointError('a pickle that is not a torch.save file (no torch magic '
                                  'number)')
        for _ in range(2):
            _dry_run(f)
        _dry_run(f)
    finally:
        f.seek(start)


# ------------------------------------------------------------------ file loads
def _check_zip_integrity(f: IO[bytes]) -> None:
    """Raise unless every record of the zip archive matches its CRC-32.

    torch does not check the CRCs itself: bytes changed in a tensor's data
    load silently.
    """
    start = f.tell()
    try:
        with zipfile.ZipFile(f) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as err:
        raise CheckpointError(f'a damaged zip archive ({err}); the file is corrupted or '
                              'truncated') from None
    finally:
        f.seek(start)
    if bad is not None:
        raise CheckpointError(f'record {bad!r} does not match its CRC-32: the file was '
                              'corrupted after it was written')


def _torch_reason(err: BaseException) -> str:
    """torch's reason for refusing a file, without its advice about ``weights_only``."""
    text = str(err)
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('WeightsUnpickler error:'):
            return line[len('WeightsUnpickler error:'):].strip()
    first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
    return first if 'weights_only' not in first else type(err).__name__


_VERIFIED: Dict[Tuple[str, int, int], bool] = {}


def verify_if_published(path: str) -> bool:
    """Verify a ``<stem>-<8 hex>.pth`` file against its hash suffix (cached per
    path, size and mtime). Returns whether it has such a name.

    Raises:
        CheckpointError: The content does not match the name.
    """
    if HASH_SUFFIX.search(osp.basename(path)) is None:
        return False
    stat = os.stat(path)
    key = (osp.realpath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _VERIFIED:
        try:
            verify_published(path)
        except ValueError as err:
            raise CheckpointError(
                f'{err} (files named <stem>-<8 hex digits>.pth are published checkpoints, '
                'checked against that prefix of their sha256; rename the file if it is not '
                'one)') from None
        _VERIFIED[key] = True
    return True


def load_checkpoint_file(path: str, map_location: Any = 'cpu') -> Any:
    """Load a local checkpoint file safely (see the module doc).

    Args:
        path: The file (``~`` is expanded; a relative ``checkpoints/<name>``
            that is not there falls back to the package's shipped copy, see
            :func:`mmvid_memory.utils.published.resolve_shipped_checkpoint`).
        map_location: As ``torch.load``'s.

    Returns:
        The loaded object (a runner checkpoint dict, a state dict, ...).

    Raises:
        FileNotFoundError: No such file.
        CheckpointError: Empty, not a checkpoint, corrupted (hash suffix or
            zip CRC), malformed or refused (:class:`UnsafeCheckpointError`);
            the message starts with the file's path.
    """
    path = resolve_shipped_checkpoint(osp.expanduser(str(path)))
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint file not found: {path}')
    if osp.getsize(path) == 0:
        raise CheckpointError(f'{path}: the file is empty (0 bytes): a save that was '
                              'interrupted, or a failed download or copy')
    try:
        verify_if_published(path)
        with open(path, 'rb') as f:
            if zipfile.is_zipfile(f):
                f.seek(0)
                _check_zip_integrity(f)
            f.seek(0)
            check_checkpoint_pickle(f)
            try:
                with safe_checkpoint_globals():
                    return torch.load(f, map_location=map_location, weights_only=True)
            except pickle.UnpicklingError as err:
                raise UnsafeCheckpointError(f'refused: {_torch_reason(err)}') from None
            except (RuntimeError, EOFError, KeyError, ValueError, OSError) as err:
                raise CheckpointError(
                    f'cannot be read ({type(err).__name__}: {_torch_reason(err)})') from None
    except CheckpointError as err:
        message = str(err)
        if message.startswith(path):
            raise
        raise type(err)(f'{path}: {message}') from None


def load_from_local_checked(filename: str, map_location: Any = None) -> Any:
    """mmengine ``CheckpointLoader`` scheme for local paths (replaces
    ``load_from_local``, which calls a bare ``torch.load``)."""
    return load_checkpoint_file(filename, map_location=map_location)


# ------------------------------------------------------------ strict loading
def state_dict_of(checkpoint: Any) -> Mapping[str, Any]:
    """The weights of a loaded checkpoint (``state_dict`` of a runner checkpoint,
    else the mapping itself)."""
    if isinstance(checkpoint, Mapping) and isinstance(checkpoint.get('state_dict'), Mapping):
        return checkpoint['state_dict']
    if isinstance(checkpoint, Mapping):
        return checkpoint
    raise CheckpointError(f'holds a {type(checkpoint).__name__}, not a state dict')


def _shape(value: Any) -> Optional[Tuple[int, ...]]:
    shape = getattr(value, 'shape', None)
    return None if shape is None else tuple(shape)


def _prefix_hint(missing: Sequence[str], unexpected: Sequence[str]) -> str:
    """Name a key prefix that turns the unexpected keys into the missing ones."""
    # BatchNorm counters may be absent on either side; they prove nothing.
    missing = [k for k in missing if 'num_batches_tracked' not in k]
    unexpected = [k for k in unexpected if 'num_batches_tracked' not in k]
    if not missing or not unexpected:
        return ''
    missing_set, unexpected_set = set(missing), set(unexpected)
    key = unexpected[0]
    for cand in missing:
        if cand.endswith('.' + key):
            prefix = cand[:-len(key)]
            hits = sum(prefix + k in missing_set for k in unexpected)
            if hits >= 0.9 * len(unexpected):
                return (f"\n  the checkpoint's keys lack the prefix {prefix!r}: it holds the "
                        'wrapped model alone (to start a wrapper from it, load it through the '
                        "inner model's init_cfg=dict(type='Pretrained', checkpoint=...))")
    key = missing[0]
    for cand in unexpected:
        if cand.endswith('.' + key):
            prefix = cand[:-len(key)]
            hits = sum(prefix + k in unexpected_set for k in missing)
            if hits >= 0.9 * len(missing):
                return (f"\n  the checkpoint's keys carry an extra prefix {prefix!r} (a "
                        'checkpoint of a model wrapping this one?)')
    return ''


def _listing(keys: Sequence[str], limit: int = 8) -> str:
    shown = ', '.join(keys[:limit])
    return shown + (f', ... (+{len(keys) - limit} more)' if len(keys) > limit else '')


def check_state_dict_fits(model: torch.nn.Module, state_dict: Mapping[str, Any],
                          source: str) -> None:
    """Raise unless ``state_dict`` has exactly the model's keys and shapes.

    BatchNorm's ``num_batches_tracked`` counters may be missing (as mmengine
    allows).

    Args:
        model: The model to be loaded.
        state_dict: Its weights, keys already revised (``module.`` stripped).
        source: Where they come from, for the message.

    Raises:
        CheckpointMismatchError: Naming the missing, unexpected and
            mis-shaped keys, with a hint when a key prefix explains them.
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict and 'num_batches_tracked' not in k]
    unexpected = [k for k in state_dict if k not in own]
    mis_shaped = [f'{k} {_shape(state_dict[k])} vs {_shape(own[k])}' for k in own
                  if k in state_dict and _shape(state_dict[k]) is not None
                  and _shape(state_dict[k]) != _shape(own[k])]
    if not (missing or unexpected or mis_shaped):
        return
    lines = [f'{source}: the checkpoint does not fit the model {type(model).__name__} '
             f'({len(state_dict)} checkpoint keys, {len(own)} model keys)']
    if missing:
        lines.append(f'  {len(missing)} missing key(s) (in the model, not in the checkpoint): '
                     f'{_listing(missing)}')
    if unexpected:
        lines.append(f'  {len(unexpected)} unexpected key(s) (in the checkpoint, not in the '
                     f'model): {_listing(unexpected)}')
    if mis_shaped:
        lines.append(f'  {len(mis_shaped)} key(s) of another shape (checkpoint vs model): '
                     f'{_listing(mis_shaped)}')
    message = '\n'.join(lines) + _prefix_hint(missing, unexpected)
    message += ('\n  To load only the weights that fit, opt out of strict loading: '
                '--allow-partial-load (tools/test.py, tools/train.py --resume), '
                'strict=False (init_detector) or strict_load = False in the config.')
    raise CheckpointMismatchError(message)


def revise_state_dict(state_dict: Mapping[str, Any],
                      revise_keys: Sequence[Tuple[str, str]] = ((r'^module\.', ''), )
                      ) -> 'OrderedDict[str, Any]':
    """``state_dict`` with every key rewritten by the ``(pattern, replacement)`` pairs."""
    revised: 'OrderedDict[str, Any]' = OrderedDict(state_dict)
    for pattern, replacement in revise_keys:
        revised = OrderedDict((re.sub(pattern, replacement, k), v) for k, v in revised.items())
    return revised


def load_model_checkpoint(model: torch.nn.Module, filename: str, strict: bool = True,
                          map_location: Any = 'cpu',
                          revise_keys: Sequence[Tuple[str, str]] = ((r'^module\.', ''), )
                          ) -> Any:
    """Load a checkpoint into ``model``, strictly unless asked otherwise.

    The file is read by mmengine's ``CheckpointLoader`` (local paths through
    :func:`load_checkpoint_file`, so safely; URLs as mmengine does).

    Args:
        model: The model (unwrapped).
        filename: Path or URL.
        strict: Refuse a checkpoint whose keys or shapes differ from the
            model's (:class:`CheckpointMismatchError`); False loads what
            fits and logs the rest (mmengine's behaviour).
        map_location: As ``torch.load``'s.
        revise_keys: Key rewrites before loading.

    Returns:
        The loaded checkpoint (with its ``meta``).
    """
    from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model
    checkpoint = _load_checkpoint(filename, map_location=map_location)
    if strict:
        check_state_dict_fits(model, revise_state_dict(state_dict_of(checkpoint), revise_keys),
                              str(filename))
    return _load_checkpoint_to_model(model, checkpoint, strict, revise_keys=list(revise_keys))


# ------------------------------------------------------------------ set-up
def _history_buffer_getstate(self) -> dict:
    """Pickle state of a HistoryBuffer without its statistics functions."""
    state = dict(self.__dict__)
    state.pop('statistics_methods', None)
    return state


_INSTALLED = False


def install_checkpoint_safety() -> None:
    """Save ``HistoryBuffer`` without functions and load local checkpoints
    through :func:`load_checkpoint_file` in mmengine. Idempotent."""
    global _INSTALLED
    if _INSTALLED:
        return
    from mmengine.logging.history_buffer import HistoryBuffer
    from mmengine.runner.checkpoint import CheckpointLoader
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local_checked, force=True)
    _INSTALLED = True
