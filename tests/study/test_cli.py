"""The command line: --explain/--schema, --dry-run, and bad input (exit 2, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ablations.run import EXIT_INVALID, EXIT_OK, main
from ablations.storage.pg import free_port
from tests.tiny import TINY, write_study


def files_under(directory: Path) -> set[str]:
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*")}


def test_explain_lists_every_key_with_type_default_and_description(capsys):
    assert main(["--explain"]) == EXIT_OK
    out = capsys.readouterr().out
    for key in (
        "name",
        "dataset.root",
        "dataset.folds",
        "variants",
        "factors",
        "tune.<path>.kind",
        "budget.epochs",
        "budget.trials_per_cell",
        "sampler.kind",
        "pruner.kind",
        "storage",
        "tracking_uri",
        "resources.n_jobs",
        "report.kind",
    ):
        assert any(line.startswith(key + " ") for line in out.splitlines()), key
    assert "wilcoxon" in out and "default synthetic" in out


def test_schema_is_json_schema(capsys):
    assert main(["--schema"]) == EXIT_OK
    schema = json.loads(capsys.readouterr().out)
    assert {"name", "dataset", "variants", "tune"} <= set(schema["properties"])


def test_dry_run_lists_cells_and_writes_nothing(workdir, capsys):
    path = write_study(workdir)
    before = files_under(workdir)
    assert main([str(path), "--dry-run", "--set", "seeds=[0,1]"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "4 to run, 0 already complete" in out
    assert out.count("pending") == 4 and "audio_only" in out
    assert files_under(workdir) == before


BAD = {
    "unknown top-level key": ({"seed": [0]}, "seed: unknown key", "did you mean 'seeds'"),
    "wrong type": ({"budget": {"epochs": "two"}}, "budget.epochs", "'two'"),
    "unknown pruner": ({"pruner": {"kind": "medain"}}, "pruner.kind: 'medain' is not one of", "did you mean 'median'"),
    "unknown component in a variant": (
        {"variants": {"full": {}, "x": {"model.fusion.kind": "itt"}}},
        "variants.x: model.fusion.kind: 'itt' is not one of",
        "(did you mean 'it'?)",
    ),
    "unknown config key in a variant": (
        {"variants": {"full": {}, "x": {"model.fusion.knd": "it"}}},
        "variants.x",
        "model.fusion.knd",
    ),
    "reference not a variant": (
        {"reference": "ful"},
        "reference: 'ful' is not one of the variants",
        "did you mean 'full'",
    ),
    "wilcoxon without spanning folds": ({"pruner": {"kind": "wilcoxon"}}, "pruner.kind", "folds_per_trial"),
    "objective metric of another task": (
        {"objective": {"metric": "val/mae"}},
        "objective.metric: 'val/mae' is not a classification metric",
        "val/accuracy",
    ),
    "objective direction": (
        {"objective": {"metric": "val/loss", "direction": "maximize"}},
        "objective.direction",
        "should be 'minimize'",
    ),
    "missing data root": ({"dataset": {**TINY["dataset"], "root": "no/such/dir"}}, "dataset.root", "no/such/dir"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_study_exits_2_naming_the_key_and_writes_nothing(case, workdir, capsys):
    changes, expected, hint = BAD[case]
    path = write_study(workdir, **changes)
    before = files_under(workdir)
    assert main([str(path)]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert str(path) in err and expected in err and hint in err, err
    assert files_under(workdir) == before


def test_bad_set_and_missing_file(workdir, capsys):
    path = write_study(workdir)
    assert main([str(path), "--set", "budget.epochs"]) == EXIT_INVALID
    assert "expected key=value" in capsys.readouterr().err
    assert main([str(workdir / "nope.yaml")]) == EXIT_INVALID
    assert "file not found" in capsys.readouterr().err
    (workdir / "bad.yaml").write_text("name: [unclosed\n")
    assert main([str(workdir / "bad.yaml")]) == EXIT_INVALID
    assert "not valid YAML" in capsys.readouterr().err


def test_unreachable_tracking_server_and_database_fail_before_any_trial(workdir, capsys):
    path = write_study(workdir)
    before = files_under(workdir)
    port = free_port()
    assert main([str(path), "--tracking-uri", f"http://127.0.0.1:{port}"]) == EXIT_INVALID
    assert f"tracking server http://127.0.0.1:{port} is not reachable" in capsys.readouterr().err
    url = f"postgresql+psycopg://avtca:s3cret@127.0.0.1:{free_port()}/optuna"
    assert main([str(path), "--storage", url]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "storage: cannot connect to postgresql+psycopg://avtca:***@127.0.0.1" in err
    assert "s3cret" not in err
    assert files_under(workdir) == before


def test_set_reaches_dotted_paths_inside_variants(workdir, capsys):
    path = write_study(workdir)
    assert main([str(path), "--dry-run", "--set", "variants.video_only.model.modalities=video"]) == EXIT_OK
    assert "video_only" in capsys.readouterr().out
    data = yaml.safe_load(path.read_text())
    assert "video_only" not in data["variants"]  # the file itself is never modified
