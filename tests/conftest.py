"""Fixtures shared by every test directory."""

import pytest
import torch


@pytest.fixture
def one_torch_thread():
    """Run the test with one torch thread: CI machines have 2 cores, shared by test processes and workers."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
