"""Known answers for the report's inference: units of replication, intervals in range, captions, strict CSVs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ablations.report import ReportInputError, render
from ablations.report.statistics.clipstats import bootstrap_ci, sign_flip_p
from ablations.report.statistics.power import min_detectable, power_t

VARIANTS = ("full", "ablated", "audio_only", "video_only")


def _runs(seeds, folds, shift, noise=0.02, seed=0, description=True) -> pd.DataFrame:
    """Hand-made runs.csv rows: accuracy-like metrics, `shift[variant]` added to every cell."""
    rng = np.random.default_rng(seed)
    fold_level = {f: 0.6 + rng.normal(0, 0.05) for f in folds}
    rows = []
    for v in VARIANTS:
        for s in seeds:
            for f in folds:
                base = fold_level[f] + shift.get(v, 0.0) + rng.normal(0, noise)
                row = {
                    "study": "known",
                    "dataset": "ravdess",
                    "protocol": "actor6fold",
                    "subject_independent": True,
                    "variant": v,
                    "reference": v == "full",
                    "seed": s,
                    "fold": f,
                    "state": "FINISHED",
                    "test/accuracy": base,
                    "test/uar": base,
                    "test/f1_macro": base,
                    "test/f1_weighted": base,
                }
                if description:
                    row["description"] = f"{v}: what it removes"
                rows.append(row)  # fmt: skip
    return pd.DataFrame(rows)


def _render(tmp_path, runs, predictions=None, name="e"):
    folder = tmp_path / name
    folder.mkdir()
    runs.to_csv(folder / "runs.csv", index=False)
    if predictions is not None:
        predictions.to_csv(folder / "predictions.csv", index=False)
    dest = render(folder / "runs.csv", out=tmp_path / f"r_{name}", formats=("md", "tex", "csv"))
    return dest, pd.read_csv(dest / "summary.csv"), (dest / "table.md").read_text()


def test_pseudo_replicated_consistent_effect_is_not_significant(tmp_path):
    # the file: 2 seeds x 3 folds, the ablation exactly 5 points better in every cell
    runs = _runs(seeds=(0, 1), folds=(0, 1, 2), shift={}, noise=0.0)
    ref = runs[runs.variant == "full"].set_index(["seed", "fold"])["test/accuracy"]
    better = runs.variant == "ablated"
    runs.loc[better, "test/accuracy"] = [ref[(s, f)] + 0.05 for s, f in zip(runs[better].seed, runs[better].fold)]
    _, summary, table = _render(tmp_path, runs)
    assert not summary["significant"].any()
    assert "3 units: too few for a test (needs 4)" in table
    # many seeds on one fold: seed noise on one test set; nothing is called significant on seeds alone
    one = _runs(seeds=tuple(range(10)), folds=(0,), shift={"ablated": 0.05, "audio_only": -0.2}, noise=0.01)
    _, summary, table = _render(tmp_path, one, name="one")
    assert not summary["significant"].any() and summary["p"].isna().all()
    assert "n = 1 unit" in table and "one test set shared by 10 seeds: no test" in table


def test_large_effect_consistent_over_six_folds_is_significant(tmp_path):
    # ablated: no true effect (with this fixed draw its p is far from 0.05; a null is "significant" 5% of the time)
    runs = _runs(seeds=(0, 1), folds=tuple(range(6)), shift={"audio_only": -0.15, "video_only": -0.20}, seed=3)
    _, summary, table = _render(tmp_path, runs)
    acc = summary[summary.metric == "test/accuracy"].set_index("variant")
    assert acc.loc["audio_only", "significant"] and acc.loc["video_only", "significant"]
    assert acc.loc["audio_only", "verdict"] == "worse" and acc.loc["audio_only", "n_units"] == 6
    assert not acc.loc["ablated", "significant"] and acc.loc["ablated", "verdict"] == "inconclusive"
    assert "**Worse** than `full`: `audio_only`, `video_only`." in table and "**Inconclusive**: `ablated`." in table
    # the margin this design could declare equivalent is stated against the declared one
    assert "Reachable margin: with 6 units and 3 comparisons" in table and "no comparison can read equivalent" in table


def test_no_interval_leaves_the_metric_range(tmp_path):
    # values near 0 and 1 with a large spread: a plain t interval would leave [0, 1]
    runs = _runs(seeds=(0,), folds=tuple(range(3)), shift={}, noise=0.0)
    runs["test/accuracy"] = np.tile([0.99, 0.5, 0.995], len(VARIANTS))
    runs.loc[runs.variant == "audio_only", "test/accuracy"] = np.array([0.01, 0.4, 0.005])
    _, summary, table = _render(tmp_path, runs)
    for col in ("ci_low", "ci_high"):
        v = summary[col].dropna()
        assert len(v) and ((v >= 0) & (v <= 1)).all()
    for lo, hi in zip(summary["diff_ci_low"].dropna(), summary["diff_ci_high"].dropna(), strict=True):
        assert -1 <= lo <= hi <= 1
    two = _runs(seeds=(0, 1), folds=(0, 1), shift={})
    dest, summary, table = _render(tmp_path, two, name="two")
    assert summary["ci_low"].isna().all() and summary["diff_ci_low"].isna().all()  # no interval over 2 units
    assert "[" not in next(ln for ln in (dest / "summary.md").read_text().splitlines() if ln.startswith("| `full`"))


def test_captions_name_test_unit_and_n_and_descriptions_are_shown(tmp_path):
    runs = _runs(seeds=(0, 1, 2), folds=tuple(range(6)), shift={"audio_only": -0.1})
    dest, _, table = _render(tmp_path, runs)
    assert "6 folds × 3 seeds, n = 6 units (folds: independent test sets; the seeds of a unit averaged first)" in table
    assert "corrected t (Nadeau-Bengio, ρ = n_test/n_train = 0.25), Bonferroni over 3 comparisons" in table
    assert "What each variant changes" in table and "- `audio_only`: audio_only: what it removes" in table
    assert "MAE" not in table  # no MAE column, so the caption does not mention it
    tex = (dest / "table.tex").read_text()
    assert "n = 6 units" in tex and "What each variant changes: \\texttt{full}" in tex


def _predictions(runs: pd.DataFrame, accuracy: dict, clips_per_actor=10, actors_per_fold=4, seed=1):
    """predictions.csv rows: each variant right on a clip with probability accuracy[variant] (+ clip difficulty)."""
    rng = np.random.default_rng(seed)
    rows = []
    folds = sorted(runs.fold.unique())
    difficulty = {}
    for f in folds:
        for a in range(actors_per_fold):
            for c in range(clips_per_actor):
                difficulty[(f, a, c)] = rng.normal(0, 0.1)
    for v in VARIANTS:
        for s in sorted(runs.seed.unique()):
            for (f, a, c), d in difficulty.items():
                target = c % 4
                right = rng.random() < min(1.0, max(0.0, accuracy.get(v, 0.6) + d))
                rows.append({"variant": v, "seed": s, "fold": f, "condition": "clean", "clip": f"c{f}_{a}_{c}",
                             "actor": str(f * actors_per_fold + a + 1), "target": target,
                             "prediction": target if right else (target + 1) % 4})  # fmt: skip
    return pd.DataFrame(rows)


def test_clip_level_comparison_by_actor_is_shown_but_never_decides(tmp_path):
    # one fold: the fold-level test cannot run; the clip-level comparison over actors is shown, and (being
    # conditional on the trained models, see the calibration) it is not allowed to call anything significant
    runs = _runs(seeds=(0, 1), folds=(0,), shift={})
    pred = _predictions(runs, {"full": 0.8, "ablated": 0.8, "audio_only": 0.8, "video_only": 0.3}, 20, 12)
    dest, summary, table = _render(tmp_path, runs, pred)
    acc = summary[summary.metric == "test/accuracy"].set_index("variant")
    assert acc.loc["video_only", "clip_actors"] == 12 and acc.loc["video_only", "clip_p_holm"] < 0.01
    assert not acc["significant"].any()
    assert acc.loc["ablated", "clip_p_holm"] > 0.05
    assert -1 <= acc.loc["video_only", "clip_ci_low"] < acc.loc["video_only", "clip_delta"] < acc.loc[
        "video_only", "clip_ci_high"] <= 0  # fmt: skip
    clips = (dest / "clips.md").read_text()
    assert "clip-level accuracy differences" in clips and "so it never decides a verdict" in clips
    assert "Paired sign-flip permutation over 12 actors" in clips and "| `video_only` | 12 |" in clips
    assert (dest / "predictions.csv").is_file()  # travels with the report


def test_sign_flip_and_bootstrap_helpers():
    rng = np.random.default_rng(0)
    # exact enumeration: 6 clusters all positive -> p = 2 / 64
    assert sign_flip_p(np.ones(6), 6, rng) == pytest.approx(2 / 64)
    assert sign_flip_p(np.array([1.0, -1.0, 1.0, -1.0]), 4, rng) == 1.0
    lo, hi = bootstrap_ci(np.full(10, 5.0), np.full(10, 10.0), rng)
    assert lo == pytest.approx(0.5) and hi == pytest.approx(0.5)
    # power of the paired t-test matches a simulation; the detectable difference gives 80% power
    sd, n = 0.03, 6
    d = min_detectable(sd, n, family=1)
    assert power_t(d, sd, n, 0.05) == pytest.approx(0.8, abs=1e-6)
    sims = np.random.default_rng(1).normal(d, sd, size=(20000, n))
    t = sims.mean(1) / (sims.std(1, ddof=1) / math.sqrt(n))
    from scipy import stats

    assert np.mean(np.abs(t) > stats.t.ppf(0.975, n - 1)) == pytest.approx(0.8, abs=0.015)


def test_runs_csv_cut_mid_row_is_rejected(tmp_path):
    runs = _runs(seeds=(0, 1), folds=(0, 1, 2, 3), shift={})
    folder = tmp_path / "cut"
    folder.mkdir()
    text = runs.to_csv(index=False)
    (folder / "runs.csv").write_text(text[: len(text) - 40])  # the last row loses its final fields
    with pytest.raises(ReportInputError, match=r"runs\.csv: line 33: .*fields, the header has .*cut mid-row"):
        render(folder / "runs.csv", out=tmp_path / "r", formats=("md",))
    (folder / "runs.csv").write_text(text[:-3])  # cut inside the last field: the field count still fits
    with pytest.raises(ReportInputError, match="cut mid-row"):
        render(folder / "runs.csv", out=tmp_path / "r", formats=("md",))
    assert not (tmp_path / "r").exists()  # nothing written


def test_n_counts_the_values_used(tmp_path):
    runs = _runs(seeds=(0, 1), folds=(0, 1, 2, 3), shift={})
    runs.loc[(runs.variant == "ablated") & (runs.seed == 1) & (runs.fold == 2), "test/accuracy"] = np.nan
    dest, summary, _ = _render(tmp_path, runs)
    row = summary[(summary.variant == "ablated") & (summary.metric == "test/accuracy")].iloc[0]
    assert row["cells"] == 7 and row["n"] == 4  # 7 values over 4 folds (fold 2 keeps seed 0)
    line = next(ln for ln in (dest / "summary.md").read_text().splitlines() if ln.startswith("| `ablated`"))
    assert line.split(" | ")[1] == "7"
    other = summary[(summary.variant == "ablated") & (summary.metric == "test/uar")].iloc[0]
    assert other["cells"] == 8


def test_dry_run_prints_the_power_of_the_design_from_a_pilot(tmp_path, monkeypatch, capsys):
    from ablations.run import main as run_main

    study = Path(__file__).resolve().parents[2] / "studies" / "ravdess.yaml"
    pilot = tmp_path / "pilot"
    pilot.mkdir()
    _runs(seeds=(0, 1), folds=tuple(range(6)), shift={"audio_only": -0.1}).to_csv(pilot / "runs.csv", index=False)
    monkeypatch.chdir(tmp_path)  # the dry run writes nothing; its default stores resolve here
    code = run_main([str(study), "--dry-run", "--set", "dataset.root=synthetic", "--pilot", str(pilot)])
    out = capsys.readouterr().out
    assert code == 0 and "power estimate from the pilot" in out and "6 folds x 3 seeds (8 comparisons)" in out
    assert "this design (6 folds x 3 seeds) detects about" in out and "to detect 5 points:" in out
    assert not list(tmp_path.glob("*.db"))
    assert run_main([str(study), "--dry-run", "--set", "dataset.root=synthetic", "--pilot", str(tmp_path / "no")]) == 2
    assert "--pilot" in capsys.readouterr().err


def test_unit_summary_and_difference_interval_stay_in_range():
    from ablations.report.statistics.paired import diff_interval, paired_test, unit_summary

    s = unit_summary(np.array([0.99, 0.5, 0.995]), 0.0, 1.0)
    assert s.ci_high == 1.0 and 0.0 <= s.ci_low < s.mean  # the plain t interval would pass 1
    assert math.isnan(unit_summary(np.array([0.4, 0.6]), 0.0, 1.0).ci_low)  # n = 2: no interval
    lo, hi = diff_interval(np.array([0.9, -0.9, 0.95]), 1.0)
    assert lo == -1.0 and hi == 1.0
    # Nadeau-Bengio: same mean difference, variance inflated by (1/n + rho) / (1/n) -> larger p
    a, b = np.array([0.70, 0.72, 0.69, 0.71, 0.73, 0.70]), np.array([0.68, 0.69, 0.68, 0.70, 0.70, 0.69])
    assert paired_test(a, b, "nb", rho=0.25).p > paired_test(a, b, "t").p
    assert paired_test(a, b, "nb", rho=0.0).p == pytest.approx(paired_test(a, b, "t").p)


def test_variance_components_recover_known_values():
    from ablations.report.statistics.power import components

    rng = np.random.default_rng(0)
    between, within = [], []
    for _ in range(300):
        fold_effect = rng.normal(0, 0.02, 6)  # sigma_b = 0.02 between folds, sigma_w = 0.03 between seeds
        rows = [{"fold": f, "seed": s, "diff": 0.01 + fold_effect[f] + rng.normal(0, 0.03)}
                for f in range(6) for s in range(3)]  # fmt: skip
        c = components(pd.DataFrame(rows))
        between.append(c.between)
        within.append(c.within)
    assert np.mean(within) == pytest.approx(0.03**2, rel=0.05)
    assert np.mean(between) == pytest.approx(0.02**2, rel=0.2)  # truncated at 0: slightly biased upward
