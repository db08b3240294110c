import pytest


@pytest.fixture(scope="session")
def study_workdir(tmp_path_factory):
    """One work dir for the study benchmarks, so the tiny synthetic dataset is generated and prepared once."""
    return tmp_path_factory.mktemp("bench-studies")
