"""Test-wide set-up: mmdet's registries with the mmdet scope, as configs use them."""
import pytest
from mmdet.utils import register_all_modules

import mmvid_memory  # noqa: F401

register_all_modules(init_default_scope=True)


def pytest_collection_modifyitems(config, items):
    import torch
    if torch.cuda.is_available():
        return
    skip_cuda = pytest.mark.skip(reason='needs a CUDA device')
    for item in items:
        if 'cuda' in item.keywords:
            item.add_marker(skip_cuda)
