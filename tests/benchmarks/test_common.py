"""The shared timing/output helpers and run_all's RESULTS.md splicing."""

import re
from pathlib import Path

import pytest

from benchmarks import _common
from benchmarks.run_all import BENCHMARKS, SMOKE, marker, splice
from benchmarks.train_step import Case, parse_case


def test_interleaved_alternates_order_and_discards_warmup():
    calls = []
    cases = {"a": lambda: calls.append("a") or {"n": 1.0}, "b": lambda: calls.append("b")}
    out = _common.interleaved(cases, repeats=3, warmup=1, progress=False)
    assert calls == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert len(out["a"].seconds) == 3 and len(out["b"].seconds) == 3
    assert out["a"].extra_median("n") == 1.0
    assert out["b"].extra_median("n") is None


def test_table_and_ratio_formatting():
    text = _common.table(["x", "y"], [[1, "2.00x"]])
    assert text.splitlines() == ["| x | y |", "|---|---|", "| 1 | 2.00x |"]
    assert _common.ratio(3.0, 1.5) == "2.00x"
    assert _common.ratio(1.0, 0) == "-"
    assert _common.fmt(None) == "-" and _common.fmt(12345.6) == "12,346"


def test_block_names_machine_versions_and_command():
    text = _common.block("T", "body")
    assert text.startswith("### T\n")
    assert "- machine: " in text and "cores" in text
    assert re.search(r"- machine: .+ \(\S+, bf16 (in hardware|emulated)\), \d+ usable cores", text)
    assert "torch " in text and "- date: " in text and "- command: `python -m" in text


def test_parse_case_knobs_and_errors():
    assert parse_case("baseline") == Case("baseline")
    case = parse_case("amp+cl+fused+bs32")
    assert (case.amp, case.channels_last, case.fused, case.compile, case.batch) == (True, True, True, False, 32)
    assert case.lr == pytest.approx(0.06 * 4)
    with pytest.raises(SystemExit, match="did you mean 'fused'"):
        parse_case("amp+fusd")


def test_splice_replaces_only_the_marked_block():
    start, end = marker("cpu", "pruning")
    doc = f"head\n{start}\n*pending final run*\n{end}\ntail\n"
    new = splice(doc, "cpu", "pruning", "| a |\n")
    assert new == f"head\n{start}\n| a |\n{end}\ntail\n"
    with pytest.raises(ValueError, match="results:cuda:pruning"):
        splice(doc, "cuda", "pruning", "x")


def test_results_md_has_a_block_per_benchmark_and_device():
    doc = (Path(__file__).parents[2] / "benchmarks" / "RESULTS.md").read_text()
    for name in BENCHMARKS:
        for device in ("cpu", "cuda"):
            start, end = marker(device, name)
            assert start in doc and end in doc, (device, name)
    assert set(SMOKE) == set(BENCHMARKS)


def test_run_all_adds_the_full_run_arguments_but_not_to_smoke_runs(tmp_path, monkeypatch):
    from benchmarks import run_all

    calls = []
    monkeypatch.setattr(run_all.subprocess, "call", lambda cmd, cwd: calls.append(cmd) or 1)  # 1: no splice
    args = ["--only", "train_step,pruning,parallel_trials", "--out-dir", str(tmp_path)]
    assert run_all.main(args) == 1 and run_all.main(["--smoke", *args]) == 1
    full, smoke = calls[:3], calls[3:]
    assert full[0][-2:] == ["--accuracy-epochs", "10"] and full[1][-2:] == ["--sampler-seeds", "0,1,2"]
    assert full[2][-1].endswith("parallel_trials.md")  # no extra arguments
    assert all("--accuracy-epochs" not in c and "--sampler-seeds" not in c for c in smoke)
    assert all(c[-len(run_all.SMOKE_COMMON) :] == run_all.SMOKE_COMMON for c in smoke)


@pytest.mark.slow
def test_run_all_smoke_writes_the_cpu_block(tmp_path):
    from benchmarks import run_all

    results = tmp_path / "RESULTS.md"
    original = (Path(__file__).parents[2] / "benchmarks" / "RESULTS.md").read_text()
    results.write_text(original)
    code = run_all.main(
        [
            "--smoke",
            "--only",
            "train_step",
            "--device",
            "cpu",
            "--results",
            str(results),
            "--out-dir",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    table = (tmp_path / "out" / "cpu" / "train_step.md").read_text()
    text = results.read_text()
    start, end = marker("cpu", "train_step")
    assert f"{start}\n{table.strip()}\n{end}" in text
    # which case is fastest at this toy size is up to the machine: only the rows are asserted
    assert re.search(r"^\| avtca \| baseline( \*\*best\*\*)? \| 8 \|", table, re.M)
    assert re.search(r"^\| avtca \| amp\+cl\+fused\+bs16( \*\*best\*\*)? \| 16 \|", table, re.M)
    for name in BENCHMARKS:  # only train_step's block was replaced
        for device in ("cpu", "cuda"):
            if (device, name) != ("cpu", "train_step"):
                a, b = marker(device, name)
                block = original[original.index(a) : original.index(b)]
                assert block in text, (device, name)


def test_pruning_rows_compare_each_seed_with_its_unpruned_study():
    from benchmarks.pruning import table_rows

    results = {
        "no pruner": [
            {"epochs": 50, "pruned": 0, "best": 0.50, "seconds": 10.0},
            {"epochs": 50, "pruned": 0, "best": 0.40, "seconds": 10.0},
        ],
        "median pruner": [
            {"epochs": 20, "pruned": 6, "best": 0.50, "seconds": 4.0},
            {"epochs": 30, "pruned": 4, "best": 0.30, "seconds": 6.0},
        ],
    }
    rows = table_rows(results, [0, 1], 10)
    by = {(r[0], r[1]): r for r in rows}
    assert by[("median pruner", 0)][5] == "60%" and by[("median pruner", 0)][7] == "+0.0"
    assert by[("median pruner", 1)][5] == "40%" and by[("median pruner", 1)][7] == "-10.0"
    assert by[("no pruner", 0)][5] == "-"
    median = by[("**median pruner (median)**", "all")]
    assert median[4] == "25" and median[5] == "50%" and median[7] == "-5.0"


def test_pruning_picks_the_best_complete_trial_not_a_pruned_one():
    import optuna
    from optuna.trial import TrialState

    from benchmarks.pruning import best_accuracy

    study = optuna.create_study(direction="minimize")
    done = study.ask()
    done.set_user_attr("metrics", {"val/loss": 0.9, "val/accuracy": 0.5})
    study.tell(done, 0.9)
    cut = study.ask()
    cut.report(0.1, step=1)  # a lower val/loss than the complete trial's, but only after one epoch
    study.tell(cut, state=TrialState.PRUNED)
    assert study.trials[1].value == 0.1  # Optuna gives a pruned trial its last intermediate value
    assert best_accuracy(study.trials, minimize=True) == 0.5
