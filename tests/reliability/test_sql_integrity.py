"""Issue 15, integrity for database storages: a complete claim whose trial is gone from the database is refused."""

from __future__ import annotations

import sqlite3

import pytest

from .conftest import run_main, write_study

pytestmark = pytest.mark.slow


def _delete(db, damage: str) -> None:
    """Remove one finished trial (and what hangs on it), or every row of the study, behind Optuna's back."""
    with sqlite3.connect(db) as conn:
        if damage == "one trial":
            (trial,) = conn.execute("SELECT min(trial_id) FROM trials").fetchone()
            trials = [trial]
        else:
            trials = [t for (t,) in conn.execute("SELECT trial_id FROM trials")]
        marks = ",".join("?" * len(trials))
        for table in ("trial_user_attributes", "trial_system_attributes", "trial_params", "trial_values",
                      "trial_intermediate_values", "trial_heartbeats", "trials"):  # fmt: skip
            conn.execute(f"DELETE FROM {table} WHERE trial_id IN ({marks})", trials)
        if damage == "whole study":
            for table in ("study_user_attributes", "study_system_attributes", "study_directions", "studies"):
                conn.execute(f"DELETE FROM {table}")


@pytest.mark.parametrize("damage", ["one trial", "whole study"])
def test_sql_storage_that_lost_trials_is_refused_then_repaired(workdir, damage, capsys):
    db = workdir / "optuna.db"
    url = f"sqlite:///{db}"
    path = write_study(workdir, storage=url)
    assert run_main([path]) == 0
    assert run_main([path, "--dry-run"]) == 0
    assert "0 to run, 2 already complete" in capsys.readouterr().out

    _delete(db, damage)
    before = db.read_bytes()
    for argv in ([path, "--dry-run"], [path]):
        assert run_main(argv) == 2
        err = capsys.readouterr().err
        assert f"claim table of {url}" in err and "--repair-storage" in err and "Traceback" not in err
        assert ("2 cell(s)" if damage == "whole study" else "1 cell(s)") in err
    assert db.read_bytes() == before  # refused without writing

    lost = 2 if damage == "whole study" else 1
    assert run_main([path, "--repair-storage"]) == 0
    out = capsys.readouterr().out
    assert f"released {lost} cell(s)" in out and f"{lost} of 2 cells to run" in out
    assert run_main([path, "--dry-run"]) == 0
    assert "0 to run, 2 already complete" in capsys.readouterr().out


def test_sql_database_password_is_masked_in_the_damage_report(workdir, capsys):
    from ablations.cells import enumerate_cells
    from ablations.integrity import repair_hint
    from ablations.study import load_study

    url = "postgresql://alice:RightPW_x1@127.0.0.1:1/db"
    study = load_study(write_study(workdir, storage=url))
    assert enumerate_cells(study)
    hint = repair_hint(study)
    assert "RightPW_x1" not in hint and "alice:***@127.0.0.1:1/db" in hint
