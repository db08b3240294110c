"""Issue 15, integrity for database storages: a complete claim whose trial is gone from the database is refused."""

from __future__ import annotations

import itertools

import pytest

from ablations.masking import mask
from ablations.storage.database import to_sqlalchemy_url
from tests.tiny import run_main, write_study

pytestmark = pytest.mark.slow
_databases = itertools.count()
TRIAL_TABLES = ("trial_user_attributes", "trial_system_attributes", "trial_params", "trial_values",
                "trial_intermediate_values", "trial_heartbeats", "trials")  # fmt: skip
STUDY_TABLES = ("study_user_attributes", "study_system_attributes", "study_directions", "studies")


def _delete(url: str, damage: str) -> None:
    """Remove one finished trial (and what hangs on it), or every row of the study, behind Optuna's back."""
    import sqlalchemy as sa

    engine = sa.create_engine(to_sqlalchemy_url(url), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        trials = [t for (t,) in conn.execute(sa.text("SELECT trial_id FROM trials ORDER BY trial_id"))]
        for table in TRIAL_TABLES:
            for trial in trials[:1] if damage == "one trial" else trials:
                conn.execute(sa.text(f"DELETE FROM {table} WHERE trial_id = :t"), {"t": trial})
        if damage == "whole study":
            for table in STUDY_TABLES:
                conn.execute(sa.text(f"DELETE FROM {table}"))
    engine.dispose()


def _refused_then_repaired(path, url: str, damage: str, capsys, snapshot) -> None:
    assert run_main([path]) == 0
    assert run_main([path, "--dry-run"]) == 0
    assert "0 to run, 2 already complete" in capsys.readouterr().out

    _delete(url, damage)
    before = snapshot()
    lost = 2 if damage == "whole study" else 1
    for argv in ([path, "--dry-run"], [path]):
        assert run_main(argv) == 2
        err = capsys.readouterr().err
        assert f"claim table of {mask(url)}" in err and "--repair-storage" in err and "Traceback" not in err
        assert f"{lost} cell(s) are marked complete" in err
    assert snapshot() == before  # refused without writing

    assert run_main([path, "--repair-storage"]) == 0
    out = capsys.readouterr().out
    assert f"released {lost} cell(s)" in out and f"{lost} of 2 cells to run" in out
    assert run_main([path, "--dry-run"]) == 0
    assert "0 to run, 2 already complete" in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["one trial", "whole study"])
def test_sqlite_storage_that_lost_trials_is_refused_then_repaired(workdir, damage, capsys):
    db = workdir / "optuna.db"
    url = f"sqlite:///{db}"
    _refused_then_repaired(write_study(workdir, storage=url), url, damage, capsys, db.read_bytes)


@pytest.mark.postgres
def test_postgres_storage_that_lost_a_trial_is_refused_then_repaired(workdir, pg_cluster, capsys):
    import sqlalchemy as sa

    name = f"rel_lost_trial_{next(_databases)}"
    url = pg_cluster.url(pg_cluster.create_database(name).rsplit("/", 1)[1], with_password=True)
    assert sa.make_url(url).password and mask(url) != url  # the message must show the masked form

    def snapshot():
        engine = sa.create_engine(to_sqlalchemy_url(url), poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT cell_id, state FROM avtca_cells ORDER BY cell_id")).all()
            trials = conn.execute(sa.text("SELECT count(*) FROM trials")).scalar()
        engine.dispose()
        return rows, trials

    _refused_then_repaired(write_study(workdir, storage=url), url, "one trial", capsys, snapshot)


def test_sql_database_password_is_masked_in_the_repair_hint(workdir):
    from ablations.storage.integrity import repair_hint
    from ablations.study.schema import load_study

    study = load_study(write_study(workdir, storage="postgresql://alice:RightPW_x1@127.0.0.1:1/db"))
    hint = repair_hint(study)
    assert "RightPW_x1" not in hint and "alice:***@127.0.0.1:1/db" in hint
