"""mmvid_memory: online video object detection with memory for MMDetection.

Importing the package registers every component into mmdet's registries, so a
config needs only::

    custom_imports = dict(imports=['mmvid_memory'], allow_failed_imports=False)
"""
from .version import __version__
from .registry import register_config_package
from .utils import install_checkpoint_safety

# Local checkpoints load through the checked, weights-only loader (resume of
# runner checkpoints included); see utils/checkpoint.py.
install_checkpoint_safety()
register_config_package()

from . import ops  # noqa: E402,F401
from . import datasets  # noqa: E402,F401
from . import evaluation  # noqa: E402,F401
from . import models  # noqa: E402,F401
from . import engine  # noqa: E402,F401
from . import apis  # noqa: E402,F401
from . import visualization  # noqa: E402,F401

__all__ = ['__version__']
