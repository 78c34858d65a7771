"""mmvid_memory: online video object detection with memory for MMDetection.

Importing the package registers every component into mmdet's registries, so a
config needs only::

    custom_imports = dict(imports=['mmvid_memory'], allow_failed_imports=False)
"""
from .version import __version__
from .registry import register_config_package
from .utils import setup_torch_load_allowlist

# Resume must work under torch>=2.6's weights_only loading; see utils/checkpoint.py.
setup_torch_load_allowlist()
register_config_package()

from . import ops  # noqa: E402,F401
from . import datasets  # noqa: E402,F401
from . import evaluation  # noqa: E402,F401
from . import models  # noqa: E402,F401
from . import engine  # noqa: E402,F401
from . import apis  # noqa: E402,F401
from . import visualization  # noqa: E402,F401

__all__ = ['__version__']
