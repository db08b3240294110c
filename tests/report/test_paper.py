"""Paper tables: literature rows with their protocols, reproduced rows from studies, explicit 'not run' cells."""

from __future__ import annotations

import pytest
import yaml

from ablations.report import ReportInputError, render
from ablations.report.__main__ import main
from ablations.report.rendering.paper import REFERENCES, load_references, render_paper
from avtca.config.base import ConfigError
from tests.report.exports import make_runs, write_export


def _rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in text.splitlines() if ln.startswith("| ")]


def test_paper_with_no_studies_prints_not_run(tmp_path, capsys):
    out = tmp_path / "reports" / "paper"
    assert main(["--paper", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    tables = [t for t in printed.split("### ")[1:]]
    sota = [t for t in tables if t.startswith("State of the art")]
    assert [t.split("\n")[0] for t in sota] == ["State of the art: RAVDESS", "State of the art: CREMA-D",
                                                 "State of the art: CMU-MOSEI"]  # fmt: skip
    for t in sota:  # a row per metric, the reproduced column says "not run" in every row
        rows = _rows(t)
        assert rows[0][-1] == "AVT-CA, reproduced" and all(r[-1] == "not run" for r in rows[2:])
    components = {r[0]: r[1:] for r in _rows(printed) if r[0] in {"Full model (AVT-CA)", "w/o cross attention",
                                                                   "Audio only", "Video only"}}  # fmt: skip
    assert len(components) == 4 and all(v == ["not run"] * 3 for v in components.values())
    assert all(cell for r in _rows(printed) for cell in r), "no blank cells"
    assert (out / "paper.md").read_text() in printed and "not run" in (out / "paper.tex").read_text()
    assert "\\documentclass" in (out / "paper.tex").read_text() and "(seed, fold) cells" not in printed


def test_literature_rows_keep_their_protocols():
    refs = load_references()
    assert refs.version >= 1
    assert all(r.protocol.strip() and r.source.strip() for r in refs.references)
    own = [r for r in refs.references if r.method == "AVT-CA"]
    assert {r.dataset: r.reported["accuracy"] for r in own} == {"ravdess": 96.11, "cremad": 94.13, "mosei": 95.84}


def test_paper_uses_rendered_studies_and_leaves_out_synthetic(tmp_path):
    reports = tmp_path / "reports"
    four = make_runs(folds=(0, 1, 2, 3))  # 4 folds: enough independent test sets for a test
    render(write_export(tmp_path / "e1", four), out=reports, formats=("md",))
    synthetic = make_runs().assign(study="quick", **{"data.root": "synthetic"})
    render(write_export(tmp_path / "e2", synthetic), out=reports, formats=("md",))
    folder, text = render_paper(reports)
    assert folder == reports / "paper"
    ravdess = text.split("### State of the art: RAVDESS")[1].split("###")[0]
    rows = {r[0]: r for r in _rows(ravdess)}
    units = four[four.variant == "full"].groupby("fold")["test/accuracy"].mean()  # seeds averaged within a fold
    assert rows["Metric"][-1] == "AVT-CA, reproduced [4]"
    assert rows["Accuracy / WAR"][-1] == f"{units.mean() * 100:.2f} ± {units.std(ddof=1) * 100:.2f}"
    assert "reproduced by study `toy` (variant `full`), protocol `actor-6fold` (subject-independent folds)" in ravdess
    assert "quick: left out, synthetic data" in text and "study `quick`" not in text
    ablation = {r[0]: r[1:] for r in _rows(text.split("### Ablation")[1])}
    assert ablation["Full model (AVT-CA)"][0] == f"{units.mean() * 100:.1f} ± {units.std(ddof=1) * 100:.1f} (ref.)"
    cross = ablation["w/o cross attention"][0]
    assert cross.startswith("−") and "[" in cross and cross.split("] ")[1] in ("inconclusive", "**worse**")
    assert ablation["Video only"] == ["not run"] * 3  # the toy study has no video-only variant; no other study
    assert "study `toy`, 4 folds × 3 seeds (4 units); corrected test, Bonferroni over 2 comparisons" in text
    assert "(seed, fold) cells" not in text
    assert "[paper/README.md](paper/README.md)" in (reports / "README.md").read_text()


def test_references_file_errors_name_the_key(tmp_path):
    data = yaml.safe_load(REFERENCES.read_text())
    data["references"][0]["reported"] = {"acuracy": 1.0}
    bad = tmp_path / "refs.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ReportInputError, match=r"references.0.reported.acuracy: unknown metric.*mean 'accuracy'"):
        load_references(bad)
    data = yaml.safe_load(REFERENCES.read_text())
    data["references"][0]["protocl"] = "x"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"references.0.protocl: unknown key"):
        load_references(bad)
