"""Test-wide set-up: mmdet's registries with the mmdet scope, as configs use them."""
import datetime

import pytest
from mmdet.utils import register_all_modules
from mmengine.registry import DefaultScope

import mmvid_memory  # noqa: F401

register_all_modules(init_default_scope=True)


@pytest.fixture(autouse=True)
def mmdet_default_scope():
    """Every test starts in the mmdet scope.

    A Runner built by an earlier test leaves its own scope current (mmengine's
    ``DefaultScope`` is a global), and registry lookups made without a scope
    would then depend on test order.
    """
    if DefaultScope.get_current_instance() is None or \
            DefaultScope.get_current_instance().scope_name != 'mmdet':
        name = f'mmdet-test-{datetime.datetime.now().timestamp()}'
        DefaultScope.get_instance(name, scope_name='mmdet')
    yield


def pytest_collection_modifyitems(config, items):
    import torch
    if torch.cuda.is_available():
        return
    skip_cuda = pytest.mark.skip(reason='needs a CUDA device')
    for item in items:
        if 'cuda' in item.keywords:
            item.add_marker(skip_cuda)
