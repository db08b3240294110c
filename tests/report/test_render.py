"""Rendering a study: deterministic files, valid figures, READMEs, clear errors on bad exports, the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import pandas as pd
import pytest

from ablations.report import ReportInputError, render
from ablations.report.__main__ import main
from tests.report.exports import make_runs, write_export

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEXT_FILES = (
    "table.md",
    "table.tex",
    "table.csv",
    "summary.md",
    "summary.tex",
    "summary.csv",
    "robustness.md",
    "robustness.tex",
    "robustness.csv",
    "answer.md",
    "report.tex",
    "README.md",
)


def test_render_is_deterministic_and_figures_are_valid_pngs(export, tmp_path):
    a = render(export, out=tmp_path / "a")
    b = render(export, out=tmp_path / "b")
    assert a.name == b.name == "toy"
    for name in TEXT_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    pngs = sorted(p.name for p in a.glob("*.png"))
    assert pngs == sorted(p.name for p in b.glob("*.png"))
    # forest plot, confusion matrix of the full model, learning and noise curves (no tuned parameters, no FLOPs)
    assert {p.split("_")[1] for p in pngs} == {"forest", "confusion", "learning", "noise"}
    for name in pngs:
        data = (a / name).read_bytes()
        assert data[:8] == PNG_SIGNATURE and len(data) > 2000
        image = mpimg.imread(a / name)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
        assert image.std() > 0.01  # not a blank canvas
        assert data == (b / name).read_bytes(), f"{name} differs between two renders"
    readme = (a / "README.md").read_text()
    for name in (
        "table.md",
        "table.tex",
        "answer.md",
        "report.tex",
        "robustness.md",
        "runs.csv",
        "history.csv",
        "confusion.csv",
        *pngs,
    ):
        assert f"({name})" in readme
    report_tex = (a / "report.tex").read_text()
    assert "\\input{table.tex}" in report_tex and "\\includegraphics" in report_tex and "fig_forest_" in report_tex
    index = (tmp_path / "a" / "README.md").read_text()
    assert "[toy](toy/README.md)" in index and "| 3 | 18 |" in index


def test_rerender_from_committed_runs_csv_is_identical(export, tmp_path):
    fmts = ("md", "tex", "csv")  # figures are covered above; keep this test fast
    first = render(export, out=tmp_path / "reports", formats=fmts)
    before = {n: (first / n).read_bytes() for n in TEXT_FILES}
    again = render(first / "runs.csv", out=tmp_path / "reports", formats=fmts)  # in place, from reports/<study>/
    assert again == first
    assert {n: (first / n).read_bytes() for n in TEXT_FILES} == before


def test_robustness_table_and_auc(export, tmp_path):
    dest = render(export, out=tmp_path / "r", formats=("md", "csv"))
    runs = pd.read_csv(export)
    # seeds share their fold's test set: the robustness numbers are over folds, seeds averaged first
    full = runs[runs.variant == "full"].groupby("fold").mean(numeric_only=True)
    clean = full["test/accuracy"].to_numpy()
    y05 = full["test_robust/audio_noise_0.5/accuracy"].to_numpy()
    y10 = full["test_robust/audio_noise_1.0/accuracy"].to_numpy()
    auc = 0.5 * (clean + y05) / 2 + 0.5 * (y05 + y10) / 2  # trapezoid over 0, 0.5, 1.0 by hand
    rob = pd.read_csv(dest / "robustness.csv")
    got = rob[(rob.variant == "full") & (rob.condition == "auc_audio_noise")].iloc[0]
    assert got["mean"] == pytest.approx(auc.mean()) and got["std"] == pytest.approx(auc.std(ddof=1))
    text = (dest / "robustness.md").read_text()
    headers = [ln.strip("| ").split(" | ") for ln in text.splitlines() if ln.startswith("| Variant")]
    assert headers == [["Variant", "clean", "audio removed", "video removed"],
                       ["Variant", "clean", "audio noise 0.5", "audio noise 1", "AUC audio noise"],
                       ["Variant", "clean", "video noise 0.5", "video noise 1", "AUC video noise"]]  # fmt: skip
    assert f"{auc.mean() * 100:.1f} ± {auc.std(ddof=1) * 100:.1f}" in text
    captions = [ln for ln in text.splitlines() if ln.startswith("RAVDESS")]
    assert all("over 2 units (seeds averaged within a unit)" in c for c in captions)
    assert [c.count("AUC") for c in captions] == [0, 1, 1]  # one AUC sentence under each noise


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda df: df.drop(columns=["variant"]), "missing column 'variant'"),
        (lambda df: df.drop(columns=["test/uar"]), "missing column 'test/uar'"),
        (lambda df: df.rename(columns={"test/f1_macro": "test/f1_macor"}), "unknown metric 'f1_macor'"),
        (lambda df: df.rename(columns={"test/uar": "tset/uar"}), "unknown metric split 'tset'"),
        (
            lambda df: df.rename(columns={"test_robust/audio_off/accuracy": "test_robust/audio_of/accuracy"}),
            "unknown robustness condition 'audio_of'",
        ),
        (lambda df: df.assign(**{"test/accuracy": df["test/accuracy"] * 100}), "not a fraction in [0, 1]"),
        (lambda df: pd.concat([df, df.iloc[:1]]), "more than one row for the cell"),
        (lambda df: df.assign(variant=[None] + list(df.variant[1:])), "column 'variant', line 2: empty"),
        (lambda df: df.assign(seed="x"), "column 'seed', line 2: expected an integer"),
    ],
)
def test_bad_runs_csv_gives_clear_error(tmp_path, change, message):
    bad = change(make_runs())
    path = tmp_path / "runs.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(ReportInputError) as err:
        render(path, out=tmp_path / "out", formats=("md",))
    assert message in str(err.value) and str(path) in str(err.value)
    assert not (tmp_path / "out").exists()  # nothing written


def test_runner_extras_are_accepted(tmp_path):
    runs = make_runs().assign(**{"train/lr": 1e-3, "train/seconds": 2.0, "val/loss": 0.7, "test/loss": 0.8,
                                 "val_robust/audio_off/accuracy": 0.5, "best_epoch": 3, "n_params": 1000})  # fmt: skip
    runs.loc[0, "state"] = "FAILED"  # unfinished rows are left out and counted
    dest = render(write_export(tmp_path / "e", runs), out=tmp_path / "r", formats=("md",))
    assert "1 unfinished row(s) in runs.csv left out" in (dest / "README.md").read_text()
    assert "| 5 |" in next(ln for ln in (dest / "summary.md").read_text().splitlines() if ln.startswith("| `full`"))


def test_unknown_metric_suggests_the_known_one(tmp_path):
    path = tmp_path / "runs.csv"
    make_runs().rename(columns={"test/f1_macro": "test/f1_macor"}).to_csv(path, index=False)
    with pytest.raises(ReportInputError, match="did you mean 'f1_macro'"):
        render(path, out=tmp_path / "out")


def test_unknown_reference_names_the_variants(export, tmp_path):
    with pytest.raises(ReportInputError, match=r"reference 'ful' is not a variant; variants are .*did you mean 'full'"):
        render(export, out=tmp_path / "out", reference="ful")
    assert not (tmp_path / "out").exists()


def test_format_selection_and_unknown_format(export, tmp_path):
    dest = render(export, out=tmp_path / "r", formats="md")
    assert (dest / "table.md").is_file() and not (dest / "table.tex").exists() and not list(dest.glob("*.png"))
    with pytest.raises(ReportInputError, match="'texx' is not one of md, tex, csv, png .did you mean 'tex'"):
        render(export, out=tmp_path / "r", formats="md,texx")


def test_cli_renders_and_exits_2_on_bad_input(tmp_path, capsys):
    export = write_export(tmp_path / "e4", make_runs(folds=(0, 1, 2, 3)))  # 4 folds: enough for a test
    flags = ["--test", "t", "--adjust", "holm", "--margin", "5", "--metric", "uar"]
    assert main([str(export), "--out", str(tmp_path / "r"), "--format", "md,csv", *flags]) == 0
    table = (tmp_path / "r" / "toy" / "table.md").read_text()
    assert "plain paired t" in table and "Holm over 2 comparisons" in table and "margin ±5.0 points (declared" in table
    assert "## RAVDESS (actor-6fold): UAR against `full`" in table
    assert " ".join(flags) in (tmp_path / "r" / "toy" / "README.md").read_text()  # the regenerate command
    assert main([str(export), "--out", str(tmp_path / "r"), "--margin", "-2"]) == 2
    assert "--margin / report.margin: expected a number >= 0" in capsys.readouterr().err
    assert main([str(tmp_path / "missing" / "runs.csv"), "--out", str(tmp_path / "r")]) == 2
    assert "file not found" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_subprocess_reports_missing_column(tmp_path):
    path = tmp_path / "runs.csv"
    make_runs().drop(columns=["seed"]).to_csv(path, index=False)
    proc = subprocess.run([sys.executable, "-m", "ablations.report", str(path), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=Path(__file__).parents[2])  # fmt: skip
    assert proc.returncode == 2
    assert "missing column 'seed'" in proc.stderr


def _importers(root: Path, module: str) -> set[str]:
    import ast

    found = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == module or n.startswith(module + ".") for n in names):
                found.add(path.relative_to(root).as_posix())
    return found


def test_only_the_tracking_package_imports_mlflow_and_avtca_neither_mlflow_nor_optuna():
    repo = Path(__file__).parents[2]
    importers = _importers(repo / "ablations", "mlflow")
    assert importers and all(path.startswith("tracking/") for path in importers), importers
    assert _importers(repo / "avtca", "mlflow") == set()
    assert _importers(repo / "avtca", "optuna") == set()


def test_pareto_labels_of_variants_with_one_cost_do_not_overlap():
    from ablations.report.rendering.figures.pareto import label_heights

    # three ablations of the video modulator cost the same; a cheaper variant stands apart
    x, y = [78.8, 78.8, 78.7, 13.4], [76.6, 76.5, 76.4, 38.8]
    at = label_heights(x, y, gap=2.0, same_x=1.0)
    assert at[0] == 76.6 and at[3] == 38.8  # the top of a column and a lone point keep their own height
    assert at[1] == pytest.approx(74.6) and at[2] == pytest.approx(72.6)  # each a gap below the label above
    assert label_heights([1.0, 5.0], [10.0, 10.1], gap=2.0, same_x=1.0) == [10.0, 10.1]  # apart: not moved
