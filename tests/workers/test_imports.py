"""`imports:` and `--import`: user modules imported before the study is validated, in the main process and in every
worker process (loky pool, Dask workers; SLURM tasks in test_slurm_preempt.py), named in errors by their key."""

from __future__ import annotations

import sys

import pytest

from ablations.study.schema import load_study
from avtca.config.base import ConfigError
from avtca.models.cross_attention import CROSS_ATTENTION
from tests.recipes import python_block
from tests.scaleout import mlflow_runs
from tests.workers.studies import run_cli, runner_env, write_study

VARIANTS = {"full": {}, "mine": {"model.cross_attention.kind": "mine", "model.cross_attention.heads": 4}}


@pytest.fixture
def component(tmp_path):
    """The README's one-file component, written beside the study file as `my_cross_attention.py`."""
    (tmp_path / "my_cross_attention.py").write_text(python_block("README.md", "## Adding a component"))
    yield "my_cross_attention"
    sys.modules.pop("my_cross_attention", None)
    if "mine" in CROSS_ATTENTION.names():
        CROSS_ATTENTION.unregister("mine")


def test_imports_register_before_validation(component, tmp_path):
    without = write_study(tmp_path, "no_import", variants=VARIANTS)
    with pytest.raises(ConfigError):  # the study names a kind nothing registered yet
        from ablations.study.cells import enumerate_cells

        enumerate_cells(load_study(without), str(without))
    study = load_study(write_study(tmp_path, "with_import", imports=[component], variants=VARIANTS))
    assert study.imports == [component] and "mine" in CROSS_ATTENTION.names()


def test_a_module_that_cannot_be_imported_is_named_by_its_key(tmp_path):
    (tmp_path / "broken_mod.py").write_text("raise RuntimeError('boom')\n")
    path = write_study(tmp_path, "bad", imports=["json", "no_such_module_xyz", "broken_mod"])
    with pytest.raises(ConfigError) as err:
        load_study(path)
    text = str(err.value)
    assert "imports[1]: cannot import 'no_such_module_xyz': ModuleNotFoundError" in text
    assert "imports[2]: cannot import 'broken_mod': RuntimeError: boom (" in text and "broken_mod.py:1)" in text
    with pytest.raises(ConfigError, match=r"--import: cannot import 'nope_xyz'"):
        load_study(write_study(tmp_path, "ok"), imports=["nope_xyz"])
    with pytest.raises(ConfigError, match=r"imports\[0\]: expected a module name .* got 'not a module'"):
        load_study(write_study(tmp_path, "bad_name", imports=["not a module"]))
    sys.modules.pop("broken_mod", None)


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["local", "dask"])
def test_user_component_runs_in_every_worker_process(component, tmp_path, launcher, scratch):
    # two worker processes (a loky pool / a Dask LocalCluster), each must import the module itself
    keys = {"imports": [component]} if launcher == "local" else {}  # dask: the same through --import
    study = write_study(tmp_path, f"imports_{launcher}", variants=VARIANTS, **keys)
    flags = ["--import", component] if launcher == "dask" else []
    env = runner_env(scratch / "cache")  # the synthetic clips are generated once per session
    tracking = f"sqlite:///{scratch / 'workers-mlflow.db'}"  # one MLflow database (and migration) per session
    flags += ["--tracking-uri", tracking]
    out = run_cli(study, "--n-jobs", "2", "--launcher", launcher, "--no-report", *flags, env=env, timeout_s=300)
    assert out.returncode == 0, out.stdout + out.stderr
    runs = [r for r in mlflow_runs(tracking, f"imports_{launcher}")
            if r.data.tags.get("avtca.role") == "trial"]  # fmt: skip
    finished = [r for r in runs if r.info.status == "FINISHED"]
    assert sorted(r.data.params["model.cross_attention.kind"] for r in finished) == ["bidirectional", "mine"]
    assert f"on 2 worker(s) [{launcher}]" in out.stdout
