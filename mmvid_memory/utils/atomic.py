"""Write files so that a crash never leaves a half-written one under the real name.

A file is written to a temporary name in the same folder (same file system,
so the final :func:`os.replace` is atomic), flushed and ``fsync``-ed, renamed
over the destination and the folder's entry is ``fsync``-ed too. A process
killed (even with ``kill -9``) mid-write leaves the previous file untouched and
a temporary file behind; temporary names carry the writer's process id, so the
next writer removes those whose process is gone (:func:`remove_stale_temps`).

Temporary names: ``.<basename>.tmp-<pid>-<random>``.
"""
import contextlib
import errno
import glob
import os
import os.path as osp
import re
import secrets
from typing import BinaryIO, Callable, Iterator, List, TextIO, Union

_TEMP_RE = re.compile(r'\.tmp-(\d+)-[0-9a-f]+$')


def temp_path_for(path: str) -> str:
    """A fresh temporary name next to ``path`` tagged with this process's id."""
    folder, base = osp.split(osp.abspath(path))
    return osp.join(folder, f'.{base}.tmp-{os.getpid()}-{secrets.token_hex(4)}')


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except OSError as err:
        return err.errno == errno.EPERM  # exists, owned by someone else
    return True


def remove_stale_temps(path: str) -> List[str]:
    """Remove the temporary files of ``path`` left by writers that died.

    Only names made by :func:`temp_path_for` for this very ``path`` whose
    process no longer exists are removed (a writer still running keeps its
    file).

    Args:
        path: The destination whose leftovers are looked for.

    Returns:
        list[str]: The removed files.
    """
    folder, base = osp.split(osp.abspath(path))
    removed = []
    for candidate in glob.glob(osp.join(glob.escape(folder), f'.{glob.escape(base)}.tmp-*')):
        match = _TEMP_RE.search(candidate)
        if match is None or _pid_alive(int(match.group(1))):
            continue
        try:
            os.remove(candidate)
            removed.append(candidate)
        except FileNotFoundError:  # another writer cleaned it up first
            pass
    return removed


def fsync_dir(folder: str) -> None:
    """Make a rename inside ``folder`` durable (no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_file(path: str) -> None:
    """Flush a closed file's data to disk."""
    with open(path, 'rb') as f:
        os.fsync(f.fileno())


def publish_temp(tmp_path: str, path: str) -> None:
    """``fsync`` a finished temporary file and rename it over ``path``."""
    fsync_file(tmp_path)
    os.replace(tmp_path, path)
    fsync_dir(osp.dirname(osp.abspath(path)))


@contextlib.contextmanager
def atomic_output(path: str, mode: str = 'wb') -> Iterator[Union[BinaryIO, TextIO]]:
    """Open a temporary file that replaces ``path`` once the block ends without error.

    Example::

        with atomic_output('out.json', 'w') as f:
            json.dump(obj, f)

    On an exception the temporary file is removed and ``path`` keeps its old
    content (or stays absent). Leftovers of killed writers are removed first.

    Args:
        path: The destination; its folder is created if missing.
        mode: ``'wb'`` or ``'w'``.
    """
    if mode not in ('wb', 'w'):
        raise ValueError(f"atomic_output writes files: mode must be 'wb' or 'w', got {mode!r}")
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    remove_stale_temps(path)
    tmp = temp_path_for(path)
    try:
        with open(tmp, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(osp.dirname(osp.abspath(path)))
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def atomic_write_with(path: str, write: Callable[[str], None]) -> None:
    """Let ``write(tmp_path)`` create a temporary file, then publish it as ``path``.

    For writers that insist on a file name (``torch.save``, a runner's
    ``save_checkpoint``). Same guarantees as :func:`atomic_output`.

    Args:
        path: The destination.
        write: Called with the temporary path; must create that file.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    remove_stale_temps(path)
    tmp = temp_path_for(path)
    try:
        write(tmp)
        if not osp.isfile(tmp):
            raise RuntimeError(f'the writer of {path} created no file')
        publish_temp(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
