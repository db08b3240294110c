"""ablations.storage.pg and ablations.storage.database: URL masking, the private cluster helper, and clear database errors (real PostgreSQL)."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from ablations.masking import mask
from ablations.storage.database import PgError, check_database, to_sqlalchemy_url
from ablations.storage.pg import PgCluster


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://avtca:s3cret@db.lan:5432/optuna", "postgresql://avtca:***@db.lan:5432/optuna"),
        ("postgresql+psycopg://u:p@h/db", "postgresql+psycopg://u:***@h/db"),
        ("postgresql://avtca@h:5432/optuna", "postgresql://avtca@h:5432/optuna"),
        ("sqlite:///runs/optuna.db", "sqlite:///runs/optuna.db"),
        ("runs/optuna/x.journal", "runs/optuna/x.journal"),
    ],
)
def test_mask_url(url, masked):
    assert mask(url) == masked


def test_scrub_masks_passwords_inside_free_text():
    text = "cannot connect to postgresql://u:p@ss@h:1/db?sslmode=require&password=x2 (and http://h:5000/ is fine)"
    out = mask(text)
    assert "p@ss" not in out and "x2" not in out
    assert "postgresql://u:***@h:1/db" in out and "password=***" in out and "http://h:5000/" in out


def test_to_sqlalchemy_url_selects_psycopg3():
    assert to_sqlalchemy_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert to_sqlalchemy_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert to_sqlalchemy_url("sqlite:///x.db") == "sqlite:///x.db"


def test_missing_binaries_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("AVTCA_PG_BIN", str(tmp_path))
    with pytest.raises(PgError, match="PostgreSQL binaries not found.*apt-get install postgresql"):
        PgCluster(tmp_path / "pg")


@pytest.mark.skipif(os.geteuid() != 0, reason="the reachability check applies when running as root")
def test_unreachable_data_dir_for_the_postgres_user_is_explained(tmp_path, pg_binaries):
    locked = tmp_path / "locked"  # pytest's tmp dirs are 0700: the postgres user cannot walk into them
    with pytest.raises(PgError, match="not searchable by the 'postgres' user"):
        PgCluster(locked / "pg").init()


@pytest.mark.postgres
def test_cluster_databases_and_password(private_pg):
    pg_cluster = private_pg
    url = pg_cluster.create_database("pg_helper_check")
    assert pg_cluster.create_database("pg_helper_check") == url  # idempotent
    assert "@" in url and ":" not in url.split("//", 1)[1].split("@")[0]  # the plain URL carries no password
    check_database(pg_cluster.url("pg_helper_check", with_password=True))
    with pytest.raises(PgError, match="database name"):
        pg_cluster.create_database("x; DROP TABLE y")


@pytest.mark.postgres
def test_password_file_is_used_from_the_environment(private_pg, monkeypatch):
    pg_cluster = private_pg
    url = pg_cluster.create_database("pg_passfile_check")
    with pytest.raises(PgError, match="wrong user or password"):
        check_database(url)  # no password anywhere
    monkeypatch.setenv("PGPASSFILE", str(pg_cluster.passfile))
    check_database(url)


@pytest.mark.postgres
def test_wrong_password_is_masked(private_pg):
    pg_cluster = private_pg
    bad = pg_cluster.url("postgres").replace("avtca@", "avtca:Wr0ng-Secret@")
    with pytest.raises(PgError) as err:
        check_database(bad)
    assert "Wr0ng-Secret" not in str(err.value)
    assert "avtca:***@" in str(err.value) and "wrong user or password" in str(err.value)


def test_unreachable_server_is_explained():
    with pytest.raises(PgError, match=r"server unreachable") as err:
        check_database("postgresql://avtca:Hunter2@127.0.0.1:1/optuna", timeout_s=2)
    assert "Hunter2" not in str(err.value)


@pytest.mark.postgres
def test_cluster_listens_on_loopback_only(private_pg):
    pg_cluster = private_pg
    engine = sa.create_engine(to_sqlalchemy_url(pg_cluster.url("postgres", with_password=True)))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SHOW listen_addresses")).scalar() == "127.0.0.1"  # bound to loopback only
    engine.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_workers_creating_the_optuna_schema_at_once_take_turns(pg_url):
    # without the advisory lock 3 of 4 die with UniqueViolation pg_type_typname_nsp_index
    import multiprocessing as mp
    import time

    from tests.children import create_optuna_storage

    with mp.get_context("spawn").Pool(4) as pool:
        assert pool.starmap(create_optuna_storage, [(pg_url, time.time() + 4.0)] * 4) == ["ok"] * 4


@pytest.mark.postgres
def test_cluster_for_other_machines_requires_the_password(scratch, pg_binaries):
    cluster = PgCluster(scratch / "pg-any", host="0.0.0.0", durable=False)
    with cluster:
        hba = cluster.psql("SELECT address, auth_method FROM pg_hba_file_rules WHERE type = 'host'")
        assert "0.0.0.0|scram-sha-256" in hba and "trust" not in hba
        check_database(cluster.url("postgres", with_password=True))
        with pytest.raises(PgError, match="wrong user or password"):
            check_database(cluster.url("postgres"))


def test_server_cli_refuses_a_busy_port(tmp_path, capsys):
    import socket

    from ablations.server import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["--port", str(port), "--data", str(tmp_path / "srv")]) == 1
    err = capsys.readouterr().err
    assert f"--port {port}: cannot listen on 127.0.0.1:{port}" in err and "pick another port" in err
    assert not (tmp_path / "srv").exists()  # nothing was started
