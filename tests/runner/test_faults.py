"""Finding 5 (tracebacks instead of messages) and 11 (leftovers): damaged claims, disk full, bad --out, prepare."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from pathlib import Path

import pytest

from ablations.storage.claims import ClaimWriteError, FileClaimStore
from tests.tiny import PYTHON, REPO, run_main, write_study


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\xffgarbage",
        b'{"state": "COMPLETE", "worker": "w", "updated_at": 1, "x": 1}',
        b"[1, 2]",
        b'{"state": "DONE", "worker": "w", "updated_at": 1}',
    ],
)
def test_damaged_claim_file_is_moved_aside_not_a_dead_end(tmp_path, capsys, content):
    store = FileClaimStore(tmp_path)
    (tmp_path / "abc.json").write_bytes(content)
    assert store.status() == {}
    assert "claim file" in capsys.readouterr().err
    assert store.claim("abc", "me")  # the cell is claimable again
    assert store.status()["abc"].state == "RUNNING"
    assert [p.name.split(".corrupt-")[0] for p in tmp_path.glob("abc.json.corrupt-*")] == ["abc.json"]


@pytest.mark.slow
def test_damaged_claim_in_a_finished_study_reruns_nothing(finished, capsys):
    import optuna

    from ablations.storage.optuna import open_storage

    claim = next((finished / "runs/optuna/tiny.claims/tiny").glob("*.json"))
    claim.write_bytes(b"\x00garbage")
    assert run_main([finished / "tiny.yaml"]) == 0
    captured = capsys.readouterr()
    assert "moved aside" in captured.err and "Traceback" not in captured.err
    trials = optuna.load_study(study_name="tiny", storage=open_storage("runs/optuna/tiny.journal")).get_trials()
    assert len(trials) == 2  # the cell's finished trial was found in the journal: it did not run again
    assert json.loads(claim.read_text())["state"] == "COMPLETE"


def test_disk_full_while_writing_a_claim_leaves_no_temp_file(tmp_path, monkeypatch):
    store = FileClaimStore(tmp_path)
    real = Path.write_text

    def full(self, *a, **kw):
        if self.name.endswith(".tmp"):
            real(self, "")  # the file was created, then the write failed: the 0-byte leftover of the report
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *a, **kw)

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(ClaimWriteError, match="No space left on device"):
        store.claim("abc", "me")
    assert [p.name for p in tmp_path.iterdir()] == [".lock"]


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    return done.returncode == 0


@pytest.mark.slow
def test_disk_full_study_on_a_real_tiny_tmpfs(workdir, capsys, monkeypatch):
    """The storage folder fills up between the storage set-up and the first claim: exit 1, nothing left RUNNING."""
    from ablations.runner import execute as run

    disk = workdir / "disk"
    if os.geteuid() != 0 or not _mount_tmpfs(disk, "256k"):
        pytest.skip("mounting a tmpfs needs root and mount rights (the monkeypatched test above covers the write)")
    try:
        path = write_study(workdir, storage=str(disk / "tiny.journal"))
        original = run.prepare_optuna

        def then_fill(*args):
            original(*args)
            with open(disk / "filler", "wb", buffering=0) as fh:  # fill every remaining block
                try:
                    while True:
                        fh.write(b"\0" * 4096)
                except OSError as err:
                    assert err.errno == errno.ENOSPC

        monkeypatch.setattr(run, "prepare_optuna", then_fill)
        assert run_main([path]) == 1
        captured = capsys.readouterr()
        assert "No space left on device" in captured.err and "Traceback" not in captured.err
        claims = disk / "tiny.claims" / "tiny"
        assert not [p for p in claims.iterdir() if p.name.endswith(".tmp")]
        assert not [p for p in claims.glob("*.json") if json.loads(p.read_text())["state"] == "RUNNING"]
        from mlflow import MlflowClient

        client = MlflowClient(f"sqlite:///{workdir}/mlflow.db")
        runs = client.search_runs([client.get_experiment_by_name("tiny").experiment_id])
        assert runs and not [r for r in runs if r.info.status == "RUNNING"]
        (disk / "filler").unlink()
        monkeypatch.setattr(run, "prepare_optuna", original)
        assert run_main([path]) == 0  # space freed: the same command finishes the study
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_report_out_pointing_at_a_file(workdir, capsys):
    from ablations.report.__main__ import main

    (workdir / "out.txt").write_text("x")
    assert main(["tiny", "--out", "out.txt"]) == 2
    assert "--out out.txt is a file" in capsys.readouterr().err


def _prepare(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [PYTHON, "-m", "avtca.data.prepare", "--dataset", "ravdess", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_prepare_on_wrongly_named_files_explains_the_naming_rule(tmp_path):
    (tmp_path / "data" / "Actor_01").mkdir(parents=True)
    (tmp_path / "data" / "Actor_01" / "happy_clip.mp4").write_bytes(b"x")
    done = _prepare(["--root", "data", "--cache", "cache"], tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "no ravdess clips found" in done.stderr and "expected MM-VC-EE-II-SS-RR-AA.mp4|wav" in done.stderr
    # nothing left behind: no empty shard folder, no lock file (those stay in the hidden .locks/ on purpose)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [".locks"]


def test_prepare_on_zero_byte_clips_says_they_failed_to_decode(tmp_path):
    folder = tmp_path / "data" / "Actor_01"
    folder.mkdir(parents=True)
    for emotion in (1, 2):
        (folder / f"01-01-0{emotion}-01-01-01-01.mp4").write_bytes(b"")
    done = _prepare(["--root", "data", "--cache", "cache"], tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "all 2 failed to decode" in done.stderr and "empty file" in done.stderr
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [".locks"]


def test_prepare_with_an_unwritable_cache(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "blocker").write_text("a file where the cache folder should be")
    done = _prepare(["--root", "data", "--cache", "blocker/cache"], tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "cannot write the cache" in done.stderr and "blocker" in done.stderr
