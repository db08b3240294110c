"""`python -m ablations.report A B` with one study per dataset writes one ablation table: a row per variant, a
column per dataset, each cell the difference to that study's reference with its interval and verdict."""

from __future__ import annotations

import pandas as pd

from ablations.report.__main__ import main
from tests.report.exports import make_runs, write_export


def _rows(text: str) -> dict[str, list[str]]:
    return {r[0]: r[1:] for r in ([c.strip() for c in ln.strip("|").split("|")] for ln in text.splitlines()
                                  if ln.startswith("| "))}  # fmt: skip


def test_one_ablation_table_across_two_studies(tmp_path, capsys):
    ravdess = write_export(tmp_path / "a", make_runs(folds=tuple(range(6))))
    cremad = make_runs(folds=tuple(range(5)), seed=3).assign(
        study="toy_cremad", dataset="cremad", protocol="actor5fold"
    )
    cremad = cremad[cremad.variant != "no_cross_attention"]
    cremad = write_export(tmp_path / "b", cremad)
    out = tmp_path / "ablation"
    assert main([str(ravdess), str(cremad), "--out", str(out), "--format", "md,tex,csv"]) == 0
    assert "ablation table across 2 studies" in capsys.readouterr().out
    text = (out / "ablation.md").read_text()
    rows = _rows(text)
    assert rows["Variant"] == ["RAVDESS Accuracy (%)", "CREMA-D Accuracy (%)"]
    assert all(c.endswith("(ref.)") for c in rows["`full` (reference)"])
    assert rows["`no_cross_attention`"][1] == "not run"  # not a variant of the CREMA-D study
    assert all("**worse**" in c and "[" in c for c in rows["`audio_only`"])  # 15 points worse in the fixture
    assert "study `toy`, 6 folds × 3 seeds (6 units)" in text and "study `toy_cremad`, 5 folds × 3 seeds" in text
    assert f"python -m ablations.report {ravdess} {cremad}" in text  # how to regenerate it
    frame = pd.read_csv(out / "ablation.csv")
    assert len(frame) == 3 + 2 and set(frame["study"]) == {"toy", "toy_cremad"}
    audio = frame[(frame.variant == "audio_only") & (frame.study == "toy")].iloc[0]
    assert audio["verdict"] == "worse" and audio["diff_ci_high"] < 0
    assert "\\begin{tabularx}{\\linewidth}" in (out / "ablation.tex").read_text()
