"""Scope ``mmvid_memory`` for mmengine's registries.

Components register straight into mmdet's registries. These child registries
exist so that configs inherited with ``_base_ = ['mmvid_memory::...']`` (to
which mmengine gives ``_scope_='mmvid_memory'``) resolve: a child looks up its
parent, mmdet's registry, where everything of this package lives. They name no
import ``locations``, so mmengine imports the package through
``mmvid_memory.utils.register_all_modules`` before the first lookup.
"""
from mmdet import registry as mmdet_registry
from mmengine.registry import Registry

SCOPE = 'mmvid_memory'

# One child per mmdet registry (mmdet's names and node names), so that every
# lookup a `_scope_='mmvid_memory'` config makes, task utils and visual
# backends included, lands in this scope and falls through to mmdet's.
_CHILDREN = ('RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'DATASETS', 'DATA_SAMPLERS',
             'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'OPTIMIZERS',
             'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'METRICS',
             'EVALUATOR', 'TASK_UTILS', 'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS')


def _child(name: str) -> Registry:
    parent = getattr(mmdet_registry, name)
    return Registry(parent.name, parent=parent, scope=SCOPE)


RUNNERS = _child('RUNNERS')
RUNNER_CONSTRUCTORS = _child('RUNNER_CONSTRUCTORS')
LOOPS = _child('LOOPS')
HOOKS = _child('HOOKS')
DATASETS = _child('DATASETS')
DATA_SAMPLERS = _child('DATA_SAMPLERS')
TRANSFORMS = _child('TRANSFORMS')
MODELS = _child('MODELS')
MODEL_WRAPPERS = _child('MODEL_WRAPPERS')
WEIGHT_INITIALIZERS = _child('WEIGHT_INITIALIZERS')
OPTIMIZERS = _child('OPTIMIZERS')
OPTIM_WRAPPERS = _child('OPTIM_WRAPPERS')
OPTIM_WRAPPER_CONSTRUCTORS = _child('OPTIM_WRAPPER_CONSTRUCTORS')
PARAM_SCHEDULERS = _child('PARAM_SCHEDULERS')
METRICS = _child('METRICS')
EVALUATOR = _child('EVALUATOR')
TASK_UTILS = _child('TASK_UTILS')
VISUALIZERS = _child('VISUALIZERS')
VISBACKENDS = _child('VISBACKENDS')
LOG_PROCESSORS = _child('LOG_PROCESSORS')


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
