import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    # the machine's 2 cores are shared with other test suites
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def study_workdir(tmp_path_factory):
    """One work dir for the study benchmarks, so the tiny synthetic dataset is generated and prepared once."""
    return tmp_path_factory.mktemp("bench-studies")
