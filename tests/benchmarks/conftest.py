import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Every test here runs with one torch thread (tests/conftest.py)."""


@pytest.fixture(scope="session")
def study_workdir(tmp_path_factory):
    """One work dir for the study benchmarks, so the tiny synthetic dataset is generated and prepared once."""
    return tmp_path_factory.mktemp("bench-studies")
