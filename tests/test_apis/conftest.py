"""One intra-op thread while these tests run: the tiny models gain nothing from more,
and on a shared, loaded machine several OpenMP threads per process slow them down
by orders of magnitude. The previous setting is restored after each module."""
import pytest
import torch


@pytest.fixture(autouse=True, scope='module')
def single_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
