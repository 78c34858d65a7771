"""Scope ``mmvid_memory`` for mmengine's registries.

Components register straight into mmdet's registries. These child registries
exist so that configs inherited with ``_base_ = ['mmvid_memory::...']`` (to
which mmengine gives ``_scope_='mmvid_memory'``) resolve: a child looks up its
parent, mmdet's registry, where everything of this package lives.
"""
from mmdet.registry import DATA_SAMPLERS as MMDET_DATA_SAMPLERS
from mmdet.registry import DATASETS as MMDET_DATASETS
from mmdet.registry import HOOKS as MMDET_HOOKS
from mmdet.registry import METRICS as MMDET_METRICS
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import OPTIM_WRAPPERS as MMDET_OPTIM_WRAPPERS
from mmdet.registry import PARAM_SCHEDULERS as MMDET_PARAM_SCHEDULERS
from mmdet.registry import TRANSFORMS as MMDET_TRANSFORMS
from mmdet.registry import VISUALIZERS as MMDET_VISUALIZERS
from mmengine.registry import Registry

SCOPE = 'mmvid_memory'
MODELS = Registry('model', parent=MMDET_MODELS, scope=SCOPE)
DATASETS = Registry('dataset', parent=MMDET_DATASETS, scope=SCOPE)
DATA_SAMPLERS = Registry('data sampler', parent=MMDET_DATA_SAMPLERS, scope=SCOPE)
TRANSFORMS = Registry('transform', parent=MMDET_TRANSFORMS, scope=SCOPE)
METRICS = Registry('metric', parent=MMDET_METRICS, scope=SCOPE)
HOOKS = Registry('hook', parent=MMDET_HOOKS, scope=SCOPE)
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=MMDET_OPTIM_WRAPPERS, scope=SCOPE)
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=MMDET_PARAM_SCHEDULERS, scope=SCOPE)
VISUALIZERS = Registry('visualizer', parent=MMDET_VISUALIZERS, scope=SCOPE)


def register_config_package() -> None:
    """Let mmengine resolve ``mmvid_memory::`` config paths.

    mmengine only knows the OpenMMLab packages listed in its
    ``MODULE2PACKAGE``; this adds ours. It takes effect once ``mmvid_memory``
    is imported, which ``tools/train.py`` and ``tools/test.py`` do before they
    read the config.

    mmengine finds a package's ``.mim`` folder through the distribution's
    location, which for an editable install (``pip install -e``, as
    ``make`` does) is site-packages rather than the checkout; for this package
    only, the location is taken from the imported module instead.
    """
    import mmengine.hub.hub as hub_module
    from mmengine.config import config as config_module
    from mmengine.config import utils as config_utils
    config_utils.MODULE2PACKAGE.setdefault(SCOPE, SCOPE)
    for module in (config_module, hub_module):
        original = module.get_installed_path
        if getattr(original, '_mmvid_memory_patch', False):
            continue
        module.get_installed_path = _package_path_resolver(original)


def _package_path_resolver(original):
    """``get_installed_path`` that knows where this package is imported from."""
    import os.path as osp

    def get_installed_path(package: str) -> str:
        if package == SCOPE:
            return osp.dirname(osp.abspath(__file__))
        return original(package)

    get_installed_path._mmvid_memory_patch = True
    return get_installed_path
