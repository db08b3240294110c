"""Findings 4, 6, 7, 5 (bad study files) and 12 (messages): fail before the first claim, exit 2, nothing written."""

from __future__ import annotations

import pytest
import yaml

from tests.tiny import TINY, run_main, write_study


def written(folder) -> list[str]:
    """Every file under `folder` except the study files themselves."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.suffix != ".yaml")


def check_invalid(workdir, capsys, argv, *expected: str) -> str:
    """Both --dry-run and a real run exit 2 with `expected` in the message, write nothing, show no traceback."""
    for extra in (["--dry-run"], []):
        assert run_main([*argv, *extra]) == 2
        err = capsys.readouterr().err
        for text in expected:
            assert text in err, err
        assert "Traceback" not in err
    assert written(workdir) == []
    return err


def test_fold_that_does_not_exist(workdir, capsys):
    path = write_study(workdir, dataset={**TINY["dataset"], "folds": [99]})
    check_invalid(workdir, capsys, [path], "dataset.folds: [99] do not exist", str(path))


def test_unknown_tuned_key(workdir, capsys):
    path = write_study(workdir, tune={"train.lrr": {"kind": "float", "low": 0.001, "high": 0.01}})
    check_invalid(workdir, capsys, [path], "tune.train.lrr:", "did you mean 'lr'")


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda(workdir, capsys):
    path = write_study(workdir, resources={"device": "cuda"})
    check_invalid(workdir, capsys, [path], "resources.device: 'cuda' but no CUDA device is visible")


def test_unreachable_tracking_database_fails_within_seconds(workdir, capsys):
    path = write_study(workdir, tracking_uri="postgresql+psycopg://alice:RightPW_x1@127.0.0.1:1/mlflow")
    err = check_invalid(workdir, capsys, [path], "tracking_uri: cannot connect to postgresql+psycopg://alice:***@")
    assert "RightPW_x1" not in err


def test_ftp_tracking_uri_writes_no_journal(workdir, capsys):
    path = write_study(workdir, tracking_uri="ftp://example.invalid/runs")
    check_invalid(workdir, capsys, [path], "tracking_uri: scheme 'ftp'")


def test_corrupt_mlflow_db_writes_no_journal(workdir, capsys):
    (workdir / "mlflow.db").write_bytes(b"this is not a database" * 100)
    path = write_study(workdir)
    for extra in (["--dry-run"], []):
        assert run_main([path, *extra]) == 2
        err = capsys.readouterr().err
        assert "is not a usable SQLite database" in err and "Traceback" not in err
    assert written(workdir) == ["mlflow.db"]


def test_duplicate_yaml_keys_are_rejected(workdir, capsys):
    text = yaml.safe_dump(TINY, sort_keys=False) + "seeds: [0]\nseeds: [1, 2]\n"
    path = workdir / "dup.yaml"
    path.write_text(text)
    check_invalid(workdir, capsys, [path], "duplicate key 'seeds'", "dup.yaml")
    path.write_text(f"name: a\n{text}")  # `name:` given twice
    check_invalid(workdir, capsys, [path], "duplicate key 'name'")


def test_study_file_that_is_not_utf8(workdir, capsys):
    path = workdir / "latin1.yaml"
    path.write_bytes(yaml.safe_dump({**TINY, "description": "Étude"}, allow_unicode=True).encode("latin-1"))
    check_invalid(workdir, capsys, [path], "not UTF-8 text", "latin1.yaml")


def test_very_long_study_name(workdir, capsys):
    path = workdir / "long.yaml"
    path.write_text(yaml.safe_dump({**TINY, "name": "n" * 300}))
    check_invalid(workdir, capsys, [path], "name:", "at most 100 characters")


def test_data_messages_name_the_study_key_and_file(workdir, capsys):
    path = write_study(workdir, dataset={**TINY["dataset"], "protocol": "actor7fold"})
    check_invalid(workdir, capsys, [path], "dataset.protocol: 'actor7fold'", "did you mean 'actor6fold'", str(path))
    options = {**TINY["dataset"]["options"], "frames": "many"}
    path = write_study(workdir, dataset={**TINY["dataset"], "options": options})
    check_invalid(workdir, capsys, [path], "dataset.options.frames:")


def test_sql_dry_run_shows_complete_cells(workdir, capsys):
    import optuna

    from ablations.storage.claims.sql import SqlClaimStore
    from ablations.storage.optuna import open_storage
    from ablations.study.cells import enumerate_cells
    from ablations.study.schema import load_study

    url = f"sqlite:///{workdir}/optuna.db"
    path = write_study(workdir, storage=url)
    cells = enumerate_cells(load_study(path))
    store = SqlClaimStore(url, "tiny")
    assert store.claim(cells[0].cell_id, "w")
    store.complete(cells[0].cell_id, "w", 0)
    assert run_main([path, "--dry-run"]) == 2  # a complete claim without its trial: the database is damaged
    assert cells[0].cell_id in capsys.readouterr().err
    ostudy = optuna.create_study(study_name="tiny", storage=open_storage(url))
    ostudy.add_trial(optuna.trial.create_trial(value=0.5, user_attrs={"cell_id": cells[0].cell_id}))
    assert run_main([path, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"{cells[0].cell_id}  COMPLETE" in out and "1 to run, 1 already complete" in out


def test_fresh_sql_dry_run_creates_nothing(workdir, capsys):
    path = write_study(workdir, storage=f"sqlite:///{workdir}/optuna.db")
    assert run_main([path, "--dry-run"]) == 0
    assert "2 to run" in capsys.readouterr().out
    assert written(workdir) == []
