"""A 2x2x2 factorial among a study's variants gets a table of main effects and interactions with verdicts, in every
format; one-at-a-time ablations get none."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ablations.report import render
from tests.report.exports import unit_runs, write_export

FACTORS = {
    "model.video.channel_attention.kind": ("se", "off"),
    "model.video.spatial_attention.kind": ("conv", "off"),
    "model.video.local_features.kind": ("lfe", "off"),
}


def _factorial_runs() -> tuple[pd.DataFrame, dict]:
    """Six folds; channel off costs 10 points; spatial and local off cost 8 points only together (interaction)."""
    rng = np.random.default_rng(4)
    fold = 0.70 + rng.normal(0, 0.03, 6)
    values, levels = {}, {}
    for a, b, c in itertools.product((0, 1), repeat=3):  # (0, 0, 0) first: the reference
        name = "full" if (a, b, c) == (0, 0, 0) else "_".join(n for n, on in zip("abc", (a, b, c)) if on) + "_off"
        values[name] = list(fold - 0.10 * a - 0.08 * b * c + rng.normal(0, 0.004, 6))
        levels[name] = (a, b, c)
    columns = {col: (lambda v, i=i, lv=lv: lv[levels[v][i]]) for i, (col, lv) in enumerate(FACTORS.items())}
    return unit_runs(values, **columns), values


def test_factorial_effects_with_a_known_main_effect_and_interaction(tmp_path):
    runs, values = _factorial_runs()
    dest = render(write_export(tmp_path / "e", runs), out=tmp_path / "r", formats=("md", "tex", "csv"))
    effects = pd.read_csv(dest / "factorial.csv", dtype={"verdict": str}).set_index("effect")
    assert len(effects) == 7 and list(effects["order"]) == [1, 1, 1, 2, 2, 2, 3]
    y = {k: np.array(v) for k, v in values.items()}
    a_off = np.mean([y[k] for k in y if k.startswith("a")], axis=0) - np.mean([y[k] for k in y if "a" not in k], axis=0)
    main_a = effects.filter(like="channel_attention", axis=0).query("order == 1").iloc[0]
    assert abs(main_a["estimate"] - a_off.mean()) < 1e-12  # mean at the level minus mean at the baseline
    assert main_a["verdict"] == "worse" and abs(main_a["estimate"] + 0.10) < 0.01
    bc = effects[(effects["order"] == 2) & effects["factors"].str.contains("spatial") & effects["factors"].str.contains(
        "local")].iloc[0]  # fmt: skip
    assert bc["verdict"] == "worse" and abs(bc["estimate"] + 0.04) < 0.01  # Yates: half of the 8-point difference
    ab = effects[(effects["order"] == 2) & effects["factors"].str.contains("channel") & effects["factors"].str.contains(
        "spatial")].iloc[0]  # fmt: skip
    assert ab["verdict"] == "equivalent" and ab["ci_low"] > -0.02 and ab["ci_high"] < 0.02  # no interaction
    assert (effects["adjust"] == "bonferroni").all() and np.allclose(effects["level"], 1 - 0.05 / 7)
    md = (dest / "factorial.md").read_text()
    assert "A full 2 × 2 × 2 factorial over `video.channel_attention`" in md
    assert "| `video.channel_attention`: se → off | −9.96 [" in md and "`full`: video.channel_attention=se" in md
    assert "corrected t (Nadeau-Bengio), Bonferroni over 7 effects; margin ±2.0 points" in md
    assert "\\midrule" in (dest / "factorial.tex").read_text()  # main effects, pairs and the triple as groups
    assert "- [factorial.md](factorial.md)" in (dest / "README.md").read_text()


def test_one_at_a_time_variants_get_no_factorial_table(tmp_path):
    runs, _ = _factorial_runs()
    keep = runs[runs["variant"].isin(["full", "a_off", "b_off", "c_off"])]
    dest = render(write_export(tmp_path / "e", keep), out=tmp_path / "r", formats=("md", "csv"))
    assert not (dest / "factorial.md").exists() and not (dest / "factorial.csv").exists()
    assert "factorial" not in (dest / "README.md").read_text()
