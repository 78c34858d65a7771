"""Published checkpoints: named ``<stem>-<first 8 hex digits of sha256>.pth``.

``tools/misc/publish_model.py`` writes them; :func:`verify_published` lets
a user of one (``tools/run_demo.py``) tell a truncated or altered copy.
"""
import hashlib
import os.path as osp
import re

HASH_SUFFIX = re.compile(r'-([0-9a-f]{8})\.pth$')


def sha256_of(path: str) -> str:
    """The sha256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def verify_published(path: str) -> None:
    """Check that a published checkpoint's content matches its hash suffix.

    Raises:
        FileNotFoundError: ``path`` is missing.
        ValueError: The name has no ``-<8 hex>.pth`` suffix, or the content's
            sha256 does not start with it (a truncated or altered copy).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'published checkpoint not found: {path}')
    match = HASH_SUFFIX.search(path)
    if match is None:
        raise ValueError(f'{path}: name has no -<8 hex digits>.pth hash suffix')
    actual = sha256_of(path)[:8]
    if actual != match.group(1):
        raise ValueError(f'{path}: content sha256 starts with {actual}, the name says '
                         f'{match.group(1)}; the file is corrupted or was changed')


#: Relative checkpoint paths under this folder name the package's shipped
#: checkpoints (``checkpoints/`` of the source tree, ``.mim/checkpoints`` of
#: an installed package).
SHIPPED_FOLDER = 'checkpoints'


def resolve_shipped_checkpoint(path: str) -> str:
    """The file a relative ``checkpoints/<name>`` path means.

    Configs name the shipped checkpoints as ``checkpoints/<name>``, relative
    to the source tree. When that path does not exist from the working
    directory (an installed package, or a run started elsewhere), the copy
    the package carries in ``mmvid_memory/.mim/checkpoints`` is used. Any
    other path, and a path that exists, is returned unchanged.

    Args:
        path (str): A checkpoint path as written in a config.

    Returns:
        str: The path to open.
    """
    if osp.isabs(path) or osp.exists(path):
        return path
    parts = osp.normpath(path).replace('\\', '/').split('/')
    if len(parts) < 2 or parts[0] != SHIPPED_FOLDER:
        return path
    package_root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    candidate = osp.join(package_root, '.mim', *parts)
    return candidate if osp.isfile(candidate) else path
