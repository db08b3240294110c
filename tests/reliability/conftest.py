"""Fixtures for the fault and bad-input tests: one finished copy of the tiny study (tests/tiny.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.tiny import run_main, write_study


@pytest.fixture(scope="session")
def finished_study(tmp_path_factory, data_cache) -> Path:
    """A folder where the tiny study (2 cells) ran to completion: study file, journal, claims, mlflow.db."""
    folder = tmp_path_factory.mktemp("finished")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        mp.setenv("AVTCA_CACHE", str(data_cache))
        assert run_main([write_study(folder)]) == 0
    return folder


@pytest.fixture
def finished(finished_study, workdir) -> Path:
    """A private copy of the finished study in the test's working directory."""
    for item in finished_study.iterdir():
        dest = workdir / item.name
        if item.is_dir():
            shutil.copytree(item, dest)
        else:
            shutil.copy2(item, dest)
    return workdir
