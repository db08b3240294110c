"""The comparison tables hold exactly the hand-computed statistics, and each comparison gets the verdict its
interval says: worse, better, equivalent within the margin, inconclusive, or none with the reason."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ablations.report import ReportInputError, render
from ablations.report.statistics.paired import holm, min_pairs, paired_test, summarize
from tests.report.exports import VARIANTS, make_runs, unit_runs, write_export

METRICS = ("accuracy", "uar", "f1_macro", "f1_weighted")


def _unit_means(runs: pd.DataFrame, variant: str, col: str) -> np.ndarray:
    sub = runs[runs.variant == variant]
    return np.array([sub[sub.fold == f][col].sum() / (sub.fold == f).sum() for f in sorted(sub.fold.unique())])


def _expected(runs: pd.DataFrame, test: str, margin: float = 0.02) -> dict:
    """Independent computation over folds (seeds averaged first): the interval at the Bonferroni level, its verdict."""
    out = {}
    k = runs.fold.nunique()
    others = ("no_cross_attention", "audio_only")
    for metric in METRICS:
        col = f"test/{metric}"
        ref = _unit_means(runs, "full", col)
        for v in others:
            d = _unit_means(runs, v, col) - ref
            factor = 1 / k + (1 / (k - 2) if test == "corrected" else 0.0)  # one group tests, one validates
            se = math.sqrt(d.var(ddof=1) * factor)
            p = 2 * stats.t.sf(abs(d.mean()) / se, k - 1)
            half = stats.t.ppf(1 - 0.05 / len(others) / 2, k - 1) * se
            low, high = d.mean() - half, d.mean() + half
            verdict = ("equivalent" if -margin < low and high < margin else "better" if low > 0 else "worse"
                       if high < 0 else "inconclusive")  # fmt: skip
            out[(v, metric)] = {"delta": d.mean(), "diff_ci_low": low, "diff_ci_high": high, "p": p,
                                "p_adjusted": min(1.0, 2 * p), "verdict": verdict}  # fmt: skip
        for v in ("full", *others):
            x = _unit_means(runs, v, col)
            n = len(x)
            mean, std = x.mean(), x.std(ddof=1)
            half = stats.t.ppf(0.975, n - 1) * std / math.sqrt(n)
            out.setdefault((v, metric), {}).update({"n": n, "mean": mean, "std": std, "ci_low": max(0.0, mean - half),
                                                    "ci_high": min(1.0, mean + half)})  # fmt: skip
    return out


@pytest.mark.parametrize("test", ["corrected", "t"])
def test_tables_hold_hand_computed_statistics(tmp_path, test):
    runs = make_runs(seeds=(0, 1, 2), folds=tuple(range(6)))
    src = write_export(tmp_path / "export", runs)
    dest = render(src, out=tmp_path / "reports", formats=("md", "tex", "csv"), test=test)
    expected = _expected(runs, test)

    summary = pd.read_csv(dest / "summary.csv", keep_default_na=False, na_values=[""])
    assert len(summary) == 3 * len(METRICS)
    assert list(summary["metric"][:3]) == ["test/accuracy"] * 3  # the primary metric's rows lead
    for _, row in summary.iterrows():
        exp = expected[(row["variant"], row["metric"].split("/")[1])]
        for key, value in exp.items():
            if key == "verdict":
                assert row[key] == value, (row["variant"], row["metric"])
            else:
                assert row[key] == pytest.approx(value, rel=1e-8, abs=1e-12), (row["variant"], row["metric"], key)
        assert row["cells"] == 18 and row["margin"] == pytest.approx(0.02)  # units are folds; cells (seed, fold)
    assert np.allclose(summary.loc[summary.variant != "full", "level"], 1 - 0.05 / 2)  # Bonferroni over 2

    table = (dest / "table.md").read_text()
    lines = {ln.split("|")[1].strip(): ln for ln in table.splitlines() if ln.startswith("| `")}
    assert list(lines) == [f"`{v}`" for v in VARIANTS]  # reference first, then study (runs.csv) order
    for v in ("no_cross_attention", "audio_only"):
        e = expected[(v, "accuracy")]
        shown = f"{e['delta'] * 100:+.1f} [{e['diff_ci_low'] * 100:+.1f}, {e['diff_ci_high'] * 100:+.1f}]"
        assert shown.replace("-", "−") in lines[f"`{v}`"]  # the interval printed is the one the verdict reads
        assert e["verdict"] in lines[f"`{v}`"]
    assert expected[("audio_only", "accuracy")]["verdict"] == "worse" and "**worse**" in lines["`audio_only`"]
    assert "`cross_attention=off`" in lines["`no_cross_attention`"]  # what it changes, from the config columns
    name = "corrected t (Nadeau-Bengio, ρ = n_test/n_train = 0.25)" if test == "corrected" else "plain paired t"
    assert name in table and "Bonferroni over 2 comparisons" in table and "97.5% interval" in table
    assert "n = 6 units" in table and "6 folds × 3 seeds" in table and "margin ±2.0 points (the default" in table
    # the main table shows the primary metric only; every metric is in summary.md, one table each
    assert "Macro F1" not in table.split("| Variant")[1].split("\n")[0]
    assert [ln for ln in (dest / "summary.md").read_text().splitlines() if ln.startswith("## ")] == [
        f"## RAVDESS (actor-6fold): {m}" for m in ("Accuracy", "UAR", "Macro F1", "Weighted F1")]  # fmt: skip
    tex = (dest / "table.tex").read_text()
    assert "\\toprule" in tex and "\\bottomrule" in tex and "\\resizebox" not in tex and "tabularx" in tex
    assert "97.5\\% interval" in tex and "97.5% interval" not in tex  # a bare % would comment out the rest


def _known() -> dict[str, list[float]]:
    """Six folds of a reference and four variants whose verdicts are known (margin 2 points, Bonferroni over 4)."""
    ref = [0.70, 0.74, 0.66, 0.72, 0.68, 0.75]
    jitter = [0.001, -0.002, 0.0015, -0.001, 0.0005, 0.0]
    return {
        "full": ref,
        "same": [r + j for r, j in zip(ref, jitter, strict=True)],  # within ±0.3 points of the reference
        "worse": [r - 0.20 + 3 * j for r, j in zip(ref, jitter, strict=True)],
        "better": [r + 0.15 - 2 * j for r, j in zip(ref, jitter, strict=True)],
        "noisy": [r + x for r, x in zip(ref, (0.12, -0.10, 0.08, -0.14, 0.11, -0.06), strict=True)],
    }


def test_known_answers_get_the_four_verdicts(tmp_path):
    dest = render(write_export(tmp_path / "e", unit_runs(_known())), out=tmp_path / "r", formats=("md", "csv"))
    summary = pd.read_csv(dest / "summary.csv", dtype={"verdict": str, "note": str}).fillna({"verdict": "", "note": ""})
    acc = summary[summary.metric == "test/accuracy"].set_index("variant")
    assert acc["verdict"].to_dict() == {"full": "", "same": "equivalent", "worse": "worse", "better": "better",
                                        "noisy": "inconclusive"}  # fmt: skip
    same = acc.loc["same"]
    assert -0.02 < same["diff_ci_low"] < same["diff_ci_high"] < 0.02  # equivalent: the interval inside the margin
    assert acc.loc["worse", "diff_ci_high"] < 0 < acc.loc["better", "diff_ci_low"]
    assert acc.loc["noisy", "diff_ci_low"] < 0 < acc.loc["noisy", "diff_ci_high"]
    table = (dest / "table.md").read_text()
    assert "**Equivalent** to `full` within ±2.0 points: `same`." in table
    assert "**Worse** than `full`: `worse`." in table and "**Better** than `full`: `better`." in table
    assert "**Inconclusive**: `noisy`." in table
    answer = (dest / "answer.md").read_text()
    assert "**Equivalent** to `full`" in answer and len(answer) < 5000

    # no margin: nothing can be declared equivalent; the same runs otherwise read the same
    dest = render(dest / "runs.csv", out=tmp_path / "r0", formats=("csv",), margin=0)
    acc = pd.read_csv(dest / "summary.csv", keep_default_na=False).query("metric == 'test/accuracy'")
    assert "equivalent" not in set(acc["verdict"]) and acc.set_index("variant").loc["worse", "verdict"] == "worse"
    # a wider declared margin (shown units: points) turns the noisy comparison no further than inconclusive
    dest = render(dest / "runs.csv", out=tmp_path / "r30", formats=("md",), margin=30)
    assert "margin ±30.0 points (declared" in (dest / "table.md").read_text()


def test_fewer_than_four_units_get_no_verdict_with_the_reason(tmp_path):
    three = {k: v[:3] for k, v in _known().items()}
    dest = render(write_export(tmp_path / "e", unit_runs(three)), out=tmp_path / "r", formats=("md", "csv"))
    summary = pd.read_csv(dest / "summary.csv", keep_default_na=False)
    others = summary[summary.variant != "full"]
    assert (others["verdict"] == "").all() and summary["p"].eq("").all()
    assert set(others["note"]) == {"3 units: too few for a test (needs 4)"}
    table = (dest / "table.md").read_text()
    assert "No verdict (3 units: too few for a test (needs 4)): `same`, `worse`, `better`, `noisy`." in table
    one = make_runs(seeds=(0, 1), folds=(0,))
    dest = render(write_export(tmp_path / "e1", one), out=tmp_path / "r1", formats=("md",))
    assert "one test set shared by 2 seeds: no test" in (dest / "table.md").read_text()


def test_identical_metrics_are_shown_once_and_cost_and_synthetic_are_named(tmp_path):
    runs = unit_runs(_known(), **{"data.root": "synthetic", "n_params": lambda v: 2.2e6 if v == "full" else 1.9e6,
                                  "flops_per_clip": lambda v: 1.5e9, "latency_ms_per_clip": 3.25})  # fmt: skip
    dest = render(write_export(tmp_path / "e", runs), out=tmp_path / "r", formats=("md", "csv"))
    table = (dest / "table.md").read_text()
    assert "**synthetic data**" in table and "not RAVDESS recordings" in table
    assert "UAR equals Accuracy; Weighted F1 equals Macro F1 in every cell" in table
    header = next(ln for ln in table.splitlines() if ln.startswith("| Variant"))
    assert "Params (M)" in header and "FLOPs" not in header and "Latency (ms/clip)" not in header
    assert "FLOPs/clip (G): 1.50 for every variant." in table and "Latency (ms/clip): 3.2 for every variant." in table
    full = next(ln for ln in table.splitlines() if ln.startswith("| `full`"))
    assert full.rstrip(" |").endswith("2.20")
    headings = [ln for ln in (dest / "summary.md").read_text().splitlines() if ln.startswith("## ")]
    assert headings == ["## RAVDESS (actor-6fold): Accuracy = UAR", "## RAVDESS (actor-6fold): Macro F1 = Weighted F1"]
    summary = pd.read_csv(dest / "summary.csv", keep_default_na=False)
    assert set(summary["same_as"]) == {"", "test/accuracy", "test/f1_macro"} and len(summary) == 4 * 5
    assert summary["flops_per_clip"].eq(1.5e9).all() and summary["synthetic"].all()
    plain = unit_runs(_known())
    dest = render(write_export(tmp_path / "p", plain), out=tmp_path / "rp", formats=("md",))
    assert "RAVDESS recordings" in (dest / "table.md").read_text()


def test_repeats_are_units_and_a_repeat_is_not_a_duplicate_cell(tmp_path):
    rng = np.random.default_rng(0)
    ref = list(0.7 + rng.normal(0, 0.03, 18))
    values = {"full": ref, "audio_only": [r - 0.2 + rng.normal(0, 0.01) for r in ref]}
    dest = render(write_export(tmp_path / "e", unit_runs(values, repeats=3)), out=tmp_path / "r", formats=("md", "csv"))
    table = (dest / "table.md").read_text()
    assert "3 repeats × 6 folds × 1 seed" in table and "n = 18 units" in table and "Bouckaert-Frank" in table
    row = pd.read_csv(dest / "summary.csv").query("variant == 'audio_only' and metric == 'test/accuracy'").iloc[0]
    d = np.array(values["audio_only"]) - np.array(ref)
    half = stats.t.ppf(1 - 0.05 / 2, 17) * d.std(ddof=1) * math.sqrt(1 / 18 + 1 / 4)
    assert row["n_units"] == 18 and row["repeats"] == 3 and row["verdict"] == "worse"
    assert row["diff_ci_low"] == pytest.approx(d.mean() - half) and row["diff_ci_high"] == pytest.approx(
        d.mean() + half
    )


def test_wilcoxon_says_when_it_cannot_decide_and_primary_metric_is_chosen(tmp_path):
    src = write_export(tmp_path / "e", unit_runs(_known()))
    dest = render(src, out=tmp_path / "r", formats=("md", "csv"), test="wilcoxon")
    table = (dest / "table.md").read_text()
    assert "the exact Wilcoxon test over 6 units cannot reach significance after Holm over 4 comparisons" in table
    summary = pd.read_csv(dest / "summary.csv", keep_default_na=False).query("metric == 'test/accuracy'")
    assert set(summary["verdict"]) == {"", "inconclusive"} and summary["diff_ci_low"].eq("").all()
    dest = render(src, out=tmp_path / "u", formats=("md",), metric="uar")
    assert "| Variant | UAR (%) | Δ (points) [interval] |" in (dest / "table.md").read_text()
    with pytest.raises(ReportInputError, match=r"'uarr' is not a classification metric.*did you mean 'uar'"):
        render(src, out=tmp_path / "x", formats=("md",), metric="uarr")
    dest = render(src, out=tmp_path / "o", formats=("md",), objective="val/f1_macro")
    assert "## RAVDESS (actor-6fold): Macro F1 against `full`" in (dest / "table.md").read_text()
    assert "--metric f1_macro" in (dest / "README.md").read_text()  # the regenerate command reproduces it
    with pytest.raises(ReportInputError, match="--margin"):
        render(src, out=tmp_path / "x", formats=("md",), margin=-1)


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
        for f in range(5):
            rows.append({"study": "mosei_toy", "dataset": "mosei", "protocol": "toy5fold", "subject_independent": True,
                         "variant": v, "reference": v == "full", "seed": 0, "fold": f,
                         "test/acc2_non0": 0.8 - shift + rng.normal(0, 0.01), "test/acc2_has0": 0.78 - shift,
                         "test/acc7": 0.45 - shift, "test/f1_weighted": 0.79 - shift,
                         "test/mae": 0.6 + shift + rng.normal(0, 0.01), "test/corr": 0.7 - shift})  # fmt: skip
    runs = pd.DataFrame(rows)
    dest = render(write_export(tmp_path / "e", runs), out=tmp_path / "r", formats=("md", "csv"), metric="mae")
    table = (dest / "table.md").read_text()
    mae = runs[runs.variant == "full"]["test/mae"].mean()
    full = next(ln for ln in table.splitlines() if ln.startswith("| `full`"))
    assert f"**{mae:.3f}**" in full  # the lowest MAE is the best, shown with 3 decimals (not percent)
    row = pd.read_csv(dest / "summary.csv").query("variant == 'audio_only' and metric == 'test/mae'").iloc[0]
    assert row["verdict"] == "worse" and row["delta"] > 0  # a higher MAE is worse
    assert "margin ±0.020 (the default" in table


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
    assert "against `audio_only`" in (dest / "table.md").read_text()


def test_cost_is_the_median_of_a_variants_cells(tmp_path):
    # one cell timed beside a busy neighbour (40 ms) does not move the variant's latency
    runs = unit_runs(_known(), **{"flops_per_clip": lambda v: 1.5e9, "latency_ms_per_clip": 3.25})
    slow = runs.index[runs["variant"] == "full"][0]
    runs.loc[slow, "latency_ms_per_clip"] = 40.0
    dest = render(write_export(tmp_path / "e", runs), out=tmp_path / "r", formats=("md",))
    table = (dest / "table.md").read_text()
    assert "Latency (ms/clip): 3.2 for every variant." in table
    assert "Cost: the variant's median over its cells" in table
