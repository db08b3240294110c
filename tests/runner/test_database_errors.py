"""The runner against a wrong password or an unreachable database: a clear error before any trial, password masked."""

from __future__ import annotations

import pytest

from ablations.storage.database import PgError
from tests.scaleout import write_study


def _run(capsys, study, storage, tracking):
    from ablations.run import main

    code = main([str(study), "--storage", storage, "--tracking-uri", tracking, "--no-report"])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.postgres
def test_wrong_password_stops_before_any_trial(private_pg, tmp_path, capsys):
    pg_cluster = private_pg
    name = "wrong_password"
    study = write_study(tmp_path, name)
    url = pg_cluster.create_database(name).replace("avtca@", "avtca:Not-The-Password@")
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    code, text = _run(capsys, study, url, tracking)
    assert code == 2, text
    assert "Not-The-Password" not in text
    assert "avtca:***@" in text and "password authentication failed" in text
    assert not (tmp_path / "mlflow.db").exists()  # nothing was started, nothing tracked
    with pytest.raises(PgError, match="does not exist"):  # and no Optuna schema was created with the wrong credentials
        pg_cluster.psql("SELECT 1 FROM studies", db=name)


def test_unreachable_database_stops_before_any_trial(tmp_path, capsys):
    study = write_study(tmp_path, "unreachable")
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    code, text = _run(capsys, study, "postgresql://avtca:Hunter2@127.0.0.1:1/optuna", tracking)
    assert code == 2, text
    assert "Hunter2" not in text and "avtca:***@127.0.0.1:1/optuna" in text
    assert "storage" in text  # names the setting to fix
    assert not (tmp_path / "mlflow.db").exists()
