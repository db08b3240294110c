"""Finding 2 (and 8, 12): a damaged Optuna journal is refused with a repair hint; the report keeps current cells."""

from __future__ import annotations

import pytest

from tests.tiny import run_main, write_study

pytestmark = pytest.mark.slow
JOURNAL = "runs/optuna/tiny.journal"


@pytest.mark.parametrize("damage", ["deleted", "emptied", "truncated"])
def test_damaged_journal_is_refused_not_called_complete(finished, damage, capsys):
    journal = finished / JOURNAL
    if damage == "deleted":
        journal.unlink()
    elif damage == "emptied":
        journal.write_bytes(b"")
    else:
        journal.write_bytes(journal.read_bytes()[:-40])  # the last record (a trial's completion) half written
    before = journal.read_bytes() if journal.exists() else None
    assert run_main([finished / "tiny.yaml", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "storage:" in err and str(journal.relative_to(finished)) in err and "--repair-storage" in err
    assert "0 to run" not in err
    assert run_main([finished / "tiny.yaml"]) == 2  # a real run refuses too, and changes nothing
    assert (journal.read_bytes() if journal.exists() else None) == before


def test_repair_storage_runs_the_lost_cell_again(finished, capsys):
    journal = finished / JOURNAL
    journal.write_bytes(journal.read_bytes()[:-40])
    assert run_main([finished / "tiny.yaml", "--repair-storage"]) == 0
    out = capsys.readouterr().out
    assert "repaired:" in out and "1 of 2 cells to run" in out
    assert list(journal.parent.glob("tiny.journal.bak-*"))  # the damaged journal is kept
    assert run_main([finished / "tiny.yaml", "--dry-run"]) == 0
    assert "0 to run, 2 already complete" in capsys.readouterr().out


def test_garbled_journal_names_the_file(finished, capsys):
    journal = finished / JOURNAL
    lines = journal.read_bytes().split(b"\n")
    lines[1] = b"{not json"
    journal.write_bytes(b"\n".join(lines))
    assert run_main([finished / "tiny.yaml"]) == 2
    err = capsys.readouterr().err
    assert f"the journal {JOURNAL} cannot be read" in err and "Traceback" not in err


def test_report_leaves_out_cells_no_longer_in_the_study(finished, capsys):
    from ablations.report.read.export import export_from_mlflow

    uri = f"sqlite:///{finished}/mlflow.db"
    # the study is edited: one variant removed, then re-run under the same name (nothing left to train)
    write_study(finished, variants={"full": {}})
    assert run_main([finished / "tiny.yaml", "--set", "reference=full"]) == 0
    import pandas as pd

    runs = pd.read_csv(export_from_mlflow("tiny", uri, finished / "current"))
    assert sorted(runs["variant"]) == ["full"]
    assert "1 run(s) of cells no longer in study 'tiny' left out" in capsys.readouterr().out
    everything = pd.read_csv(export_from_mlflow("tiny", uri, finished / "all", all_cells=True))
    assert sorted(everything["variant"]) == ["audio_only", "full"]
