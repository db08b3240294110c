"""Finding 3: no password, token or key is ever printed or written (one masking function for every URL)."""

from __future__ import annotations

import subprocess

import pytest

from ablations.masking import mask
from tests.tiny import PYTHON, SECRET, subprocess_env, write_study

# the URLs of the report, and the other places a secret can sit in a URL
LEAKY = [
    (
        "postgresql+psycopg://alice:RightPW_x1@db.lan:5432/ablations",
        "postgresql+psycopg://alice:***@db.lan:5432/ablations",
    ),
    ("postgresql://alice@db.lan/ablations?password=S3cretPW", "postgresql://alice@db.lan/ablations?password=***"),
    ("http://127.0.0.1:1/?token=T0kenValue", "http://127.0.0.1:1/?token=***"),
    ("http://user:pass@host:5000", "http://user:***@host:5000"),
    ("https://h/api?api_key=K3y&x=1&key=V4l&sig=S1g", "https://h/api?api_key=***&x=1&key=***&sig=***"),
    (
        "https://h/?secret=Sh&access_token=At&X-Amz-Signature=Zz",
        "https://h/?secret=***&access_token=***&X-Amz-Signature=***",
    ),
    ("host=db password=Pw9 user=u", "host=db password=*** user=u"),
]


@pytest.mark.parametrize(("url", "masked"), LEAKY)
def test_one_mask_for_every_url_position(url, masked):
    assert mask(url) == masked
    assert mask(f"error: cannot use {url} (refused)") == f"error: cannot use {masked} (refused)"


def test_urls_without_secrets_are_unchanged():
    for url in (
        "sqlite:////tmp/mlflow.db",
        "runs/optuna/tiny.journal",
        "http://h:5000/",
        "postgresql://u@h/db",
        "the key to this table",
    ):
        assert mask(url) == url


def test_report_failure_warning_masks_the_tracking_uri(workdir, capsys, monkeypatch):
    import importlib

    from ablations import runner as run
    from ablations.study.schema import load_study

    render_module = importlib.import_module("ablations.report.build")

    uri = f"postgresql+psycopg://alice:{SECRET}@127.0.0.1:1/mlflow?password={SECRET}"
    study = load_study(write_study(workdir, tracking_uri=uri))

    def broken(name, out, tracking_uri, **settings):
        raise RuntimeError(f"error: study '{name}' at {tracking_uri} cannot be read")

    monkeypatch.setattr(render_module, "render", broken)
    run.render_report(study)
    err = capsys.readouterr().err
    assert "report rendering failed" in err and SECRET not in err and "alice:***@" in err


def test_dry_run_header_masks_query_passwords(workdir, capsys):
    from ablations.runner import print_plan
    from ablations.study.schema import load_study

    study = load_study(
        write_study(
            workdir,
            storage=f"postgresql://alice@db/x?password={SECRET}",
            tracking_uri=f"http://u:{SECRET}@h:5000/?token={SECRET}",
        )
    )
    print_plan(study, [], {})
    out = capsys.readouterr().out
    assert SECRET not in out and "password=***" in out and "token=***" in out


@pytest.mark.slow
@pytest.mark.parametrize("where", ["storage", "tracking_uri"])
@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://alice:{SECRET}@127.0.0.1:1/db",
        f"postgresql://alice@127.0.0.1:1/db?password={SECRET}",
        f"http://alice:{SECRET}@127.0.0.1:1/?token={SECRET}",
    ],
)
def test_failed_runs_never_show_the_secret(workdir, data_cache, where, url):
    """Every output stream of a real `python -m ablations.run` and every file it leaves carry no secret."""
    if where == "storage" and url.startswith("http"):
        url = url.replace("http", "mysql", 1)  # a storage URL with the same credential positions
    path = write_study(workdir, **{where: url})
    for extra in (["--dry-run"], []):
        proc = subprocess.run(
            [PYTHON, "-m", "ablations.run", str(path), *extra],
            cwd=workdir,
            capture_output=True,
            text=True,
            env=subprocess_env(data_cache),
            timeout=120,
        )
        assert proc.returncode == 2, proc.stderr
        assert SECRET not in proc.stdout + proc.stderr, proc.stderr
        assert "***" in proc.stderr
    leaked = [p for p in workdir.rglob("*") if p.is_file() and p != path and SECRET.encode() in p.read_bytes()]
    assert leaked == []


@pytest.mark.postgres
@pytest.mark.slow
def test_full_run_with_credentials_in_every_url_leaks_nothing(workdir, data_cache, pg_cluster):
    """A real study on PostgreSQL: storage with user:password@, tracking with ?password=; grep everything written."""
    import sqlalchemy as sa

    storage = pg_cluster.url(pg_cluster.create_database("rel_secret_optuna").rsplit("/", 1)[1], with_password=True)
    tracking_db = pg_cluster.create_database("rel_secret_mlflow").rsplit("/", 1)[1]
    password = sa.make_url(storage).password
    assert password and password in storage
    tracking = pg_cluster.url(tracking_db) + f"?password={password}"
    path = write_study(workdir, storage=storage, tracking_uri=tracking, report={"kind": "render", "out": "reports"})
    env = {k: v for k, v in subprocess_env(data_cache).items() if k not in ("PGPASSFILE", "PGPASSWORD")}
    outputs = []
    for argv in (["--dry-run"], [], ["--resync-tracking"]):
        proc = subprocess.run(
            [PYTHON, "-m", "ablations.run", str(path), *argv],
            cwd=workdir,
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        outputs.append(proc.stdout + proc.stderr)
        assert proc.returncode == 0, proc.stderr[-3000:]
    report = subprocess.run(
        [PYTHON, "-m", "ablations.report", "tiny", "--tracking-uri", tracking, "--out", str(workdir / "again")],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    outputs.append(report.stdout + report.stderr)
    assert report.returncode == 0, report.stderr[-3000:]
    for text in outputs:
        assert password not in text
    files = [p for p in workdir.rglob("*") if p.is_file() and p != path]
    assert files and not [p for p in files if password.encode() in p.read_bytes()]
    # MLflow itself stores no credential: the runs' params and tags carry the masked URIs at most
    engine = sa.create_engine(
        pg_cluster.url(tracking_db, with_password=True).replace("postgresql", "postgresql+psycopg")
    )
    with engine.connect() as conn:
        for table in ("params", "tags"):
            values = [r[0] for r in conn.execute(sa.text(f"SELECT value FROM {table}"))]
            assert values and not [v for v in values if password in v]
    engine.dispose()
