"""Model tests are seeded (tests/conftest.py gives them one torch thread)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
