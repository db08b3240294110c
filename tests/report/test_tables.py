"""The comparison tables hold exactly the hand-computed statistics (means, sample stds, CIs, deltas, p-values)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ablations.report import render
from ablations.report.statistics.paired import holm, min_pairs, paired_test, summarize
from tests.report.exports import VARIANTS, make_runs, write_export

METRICS = ("accuracy", "uar", "f1_macro", "f1_weighted")


def _fold_means(runs: pd.DataFrame, variant: str, col: str) -> np.ndarray:
    sub = runs[runs.variant == variant]
    return np.array([sub[sub.fold == f][col].sum() / (sub.fold == f).sum() for f in sorted(sub.fold.unique())])


def _expected(runs: pd.DataFrame, test: str) -> dict:
    """Independent computation over folds (seeds averaged first): mean/std/CI, delta, raw and Holm p."""
    out = {}
    k = runs.fold.nunique()
    for metric in METRICS:
        col = f"test/{metric}"
        ref = _fold_means(runs, "full", col)
        raw = {}
        for v in ("no_cross_attention", "audio_only"):
            d = _fold_means(runs, v, col) - ref
            if test == "t":
                raw[v] = stats.ttest_rel(d + ref, ref).pvalue
            else:  # Nadeau-Bengio: variance factor 1/k + n_test/n_train, one group tests, k-2 train
                t = d.mean() / math.sqrt(d.var(ddof=1) * (1 / k + 1 / (k - 2)))
                raw[v] = 2 * stats.t.sf(abs(t), k - 1)
        # Holm with two hypotheses, by hand
        (v1, p1), (v2, p2) = sorted(raw.items(), key=lambda kv: kv[1])
        adj = {v1: min(1.0, 2 * p1)}
        adj[v2] = max(adj[v1], min(1.0, p2))
        for v in ("full", "no_cross_attention", "audio_only"):
            x = _fold_means(runs, v, col)
            n = len(x)
            mean = x.sum() / n
            std = math.sqrt(((x - mean) ** 2).sum() / (n - 1))
            half = stats.t.ppf(0.975, n - 1) * std / math.sqrt(n)
            out[(v, metric)] = {
                "n": n, "mean": mean, "std": std, "ci_low": max(0.0, mean - half), "ci_high": min(1.0, mean + half),
                "delta": mean - ref.mean() if v != "full" else math.nan,
                "p": raw.get(v, math.nan), "p_holm": adj.get(v, math.nan),
            }  # fmt: skip
    return out


@pytest.mark.parametrize("test", ["t", "nb"])
def test_tables_hold_hand_computed_statistics(tmp_path, test):
    runs = make_runs(seeds=(0, 1, 2), folds=tuple(range(6)))
    src = write_export(tmp_path / "export", runs)
    dest = render(src, out=tmp_path / "reports", formats=("md", "tex", "csv"), test=test)
    expected = _expected(runs, test)

    summary = pd.read_csv(dest / "summary.csv")
    assert len(summary) == 3 * len(METRICS)
    for _, row in summary.iterrows():
        exp = expected[(row["variant"], row["metric"].split("/")[1])]
        for key in ("mean", "std", "ci_low", "ci_high", "delta", "p", "p_holm"):
            assert row[key] == pytest.approx(exp[key], rel=1e-8, abs=1e-12, nan_ok=True), (row["variant"], key)
        assert row["n"] == exp["n"] == 6 and row["cells"] == 18  # units are folds; cells are (seed, fold)
        assert bool(row["significant"]) == (not math.isnan(exp["p_holm"]) and exp["p_holm"] < 0.05)

    table = (dest / "table.md").read_text()
    lines = {ln.split("|")[1].strip(): ln for ln in table.splitlines() if ln.startswith("| `")}
    assert list(lines) == [f"`{v}`" for v in VARIANTS]  # reference first, then study (runs.csv) order
    for (variant, _metric), e in expected.items():
        line = lines[f"`{variant}`"]
        assert f"{e['std'] * 100:.2f} [{e['ci_low'] * 100:.2f}, {e['ci_high'] * 100:.2f}]" in line
        assert f"{e['mean'] * 100:.2f}" in line
        if variant != "full":
            star = "*" if e["p_holm"] < 0.05 else ""
            ptext = f"p={e['p_holm']:.3f}" if e["p_holm"] >= 0.001 else "p<0.001"
            assert f"({ptext}){star}" in line and f"{e['delta'] * 100:+.2f} [" in line
    # the full model is best everywhere in the fixture: its means are bold, the others are not
    assert lines["`full`"].count("**") == 2 * len(METRICS)
    assert "**" not in lines["`audio_only`"]
    # audio-only is far worse on every fold: significant after Holm over 6 folds, and says so
    assert lines["`audio_only`"].count(")* worse") == len(METRICS)
    name = "paired t-test" if test == "t" else "Nadeau-Bengio"
    assert name in table and "Holm" in table and "subject-independent folds" in table
    assert "over 6 folds (6 folds x 3 seeds" in table  # the caption names test, unit and number of units
    tex = (dest / "table.tex").read_text()
    assert "\\toprule" in tex and "\\bottomrule" in tex and name in tex
    assert "95\\% t interval" in tex and "95% t" not in tex  # a bare % would comment out the caption's rest


def test_small_n_says_too_few_and_one_fold_is_not_tested(tmp_path):
    runs = make_runs(seeds=(0, 1), folds=(0,))
    runs = runs[~((runs.variant == "audio_only") & (runs.seed == 1))]  # audio_only: n = 1
    dest = render(write_export(tmp_path / "e", runs), out=tmp_path / "r", formats=("md", "csv"))
    table = (dest / "table.md").read_text()
    audio = next(ln for ln in table.splitlines() if ln.startswith("| `audio_only`"))
    assert "(n = 1: too few for an interval)" in audio and "| 1 |" in audio
    ncs = next(ln for ln in table.splitlines() if ln.startswith("| `no_cross_attention`"))
    assert "one test set shared by 2 seeds: no test" in ncs and "p=" not in ncs
    assert "Only one test set" in table
    summary = pd.read_csv(dest / "summary.csv")
    assert summary[summary.variant == "audio_only"]["std"].isna().all()
    assert summary[summary.variant != "full"]["p"].isna().all()


def test_random_split_protocol_in_caption(tmp_path):
    runs = make_runs(seeds=(0, 1, 2), folds=(0,))
    runs["subject_independent"] = False
    runs["protocol"] = "random-80-10-10"
    dest = render(write_export(tmp_path / "e", runs), out=tmp_path / "r", formats=("md",))
    assert "protocol `random-80-10-10` (random split, not subject-independent)" in (dest / "table.md").read_text()


def test_statistics_helpers():
    s = summarize(np.array([0.5]))
    assert s.n == 1 and s.mean == 0.5 and math.isnan(s.std) and math.isnan(s.ci_low)
    assert min_pairs("wilcoxon") == 6 and min_pairs("t") == 2 and min_pairs("nb") == 2
    assert holm([0.01, math.nan, 0.04, 0.03]) == pytest.approx([0.03, math.nan, 0.06, 0.06], nan_ok=True)
    same = paired_test(np.ones(7), np.ones(7))
    assert same.p == 1.0 and same.note == ""
    assert "too few pairs" in paired_test(np.ones(3), np.zeros(3)).note


def test_regression_metrics_mae_lower_is_better(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for v, shift in (("full", 0.0), ("audio_only", 0.1)):
        for s in range(3):
            rows.append({"study": "mosei_toy", "dataset": "mosei", "protocol": "official", "subject_independent": False,
                         "variant": v, "reference": v == "full", "seed": s, "fold": 0,
                         "test/acc2_non0": 0.8 - shift + rng.normal(0, 0.01), "test/acc2_has0": 0.78 - shift,
                         "test/acc7": 0.45 - shift, "test/f1_weighted": 0.79 - shift,
                         "test/mae": 0.6 + shift + rng.normal(0, 0.01), "test/corr": 0.7 - shift})  # fmt: skip
    runs = pd.DataFrame(rows)
    dest = render(write_export(tmp_path / "e", runs), out=tmp_path / "r", formats=("md",))
    table = (dest / "table.md").read_text()
    full = next(ln for ln in table.splitlines() if ln.startswith("| `full`"))
    mae = runs[runs.variant == "full"]["test/mae"].mean()
    assert f"**{mae:.3f}**" in full  # lowest MAE is the best, shown with 3 decimals (not percent)
    assert "Acc-2 (non-0) (%)" in table and "| MAE |" in table.replace("MAE |", "MAE |")


def test_no_reference_and_missing_values(tmp_path):
    runs = make_runs(seeds=(0, 1), folds=(0,))
    runs["reference"] = False
    runs.loc[runs.variant == "audio_only", "test_robust/audio_off/accuracy"] = np.nan  # not evaluated
    dest = render(write_export(tmp_path / "e", runs), out=tmp_path / "r", formats=("md", "csv"))
    table = (dest / "table.md").read_text()
    assert "No variant is marked as the reference" in table and "Δ" not in table.split("\n| Variant")[1]
    rob = (dest / "robustness.md").read_text()
    audio = next(ln for ln in rob.splitlines() if ln.startswith("| `audio_only`"))
    assert audio.split(" | ")[2] == "n/a ± n/a"  # audio removed: no value, nothing invented
    dest = render(dest / "runs.csv", out=tmp_path / "r", formats=("md",), reference="audio_only")
    assert "full model `audio_only`" in (dest / "table.md").read_text()
