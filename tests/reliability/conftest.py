"""Fixtures for the fault and bad-input tests: the tiny study of tests/study, and one finished copy of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.distributed.conftest import pg_binaries, pg_cluster, scratch  # noqa: F401 - PostgreSQL fixtures
from tests.study.conftest import PYTHON, REPO, TINY, data_cache, subprocess_env, workdir, write_study  # noqa: F401

SECRET = "RightPW_x1"  # a password that must never appear in any output


def run_main(argv: list[str]) -> int:
    from ablations.run import main

    return main([str(a) for a in argv])


@pytest.fixture(scope="session")
def finished_study(tmp_path_factory, data_cache) -> Path:
    """A folder where the tiny study (2 cells) ran to completion: study file, journal, claims, mlflow.db."""
    import os

    folder = tmp_path_factory.mktemp("finished")
    before, env = os.getcwd(), os.environ.get("AVTCA_CACHE")
    os.chdir(folder)
    os.environ["AVTCA_CACHE"] = str(data_cache)
    try:
        assert run_main([write_study(folder)]) == 0
    finally:
        os.chdir(before)
        if env is None:
            os.environ.pop("AVTCA_CACHE", None)
        else:
            os.environ["AVTCA_CACHE"] = env
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
