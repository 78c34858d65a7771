"""Test-wide set-up: mmdet's registries with the mmdet scope, as configs use them,
and one intra-op thread."""
import datetime

import pytest
import torch
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


@pytest.fixture(autouse=True, scope='session')
def single_torch_thread():
    """The tiny models gain nothing from more threads, and on a shared, loaded
    machine several OpenMP threads per process slow them down many times over."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def pytest_collection_modifyitems(config, items):
    import torch
    if torch.cuda.is_available():
        return
    skip_cuda = pytest.mark.skip(reason='needs a CUDA device')
    for item in items:
        if 'cuda' in item.keywords:
            item.add_marker(skip_cuda)
