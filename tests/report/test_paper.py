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
    rows = _rows(printed)
    reproduced = [r for r in rows if r[1] == "reproduced"]
    assert len(reproduced) == 3  # RAVDESS, CREMA-D, CMU-MOSEI
    assert all(set(r[2:3] + r[4:]) == {"not run"} for r in reproduced)
    components = [r for r in rows if r[0] in {"Full model (AVT-CA)", "w/o cross attention", "Audio only", "Video only"}]
    assert len(components) == 4 and all(r[1:] == ["not run"] * 3 for r in components)
    assert all(cell for r in rows for cell in r), "no blank cells"
    assert (out / "paper.md").read_text() in printed and (out / "paper.tex").is_file()
    assert "not run" in (out / "paper.tex").read_text()


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
    rows = _rows(text)
    full = four[four.variant == "full"]["test/accuracy"]
    ours = next(r for r in rows if r[1] == "reproduced (study toy)")
    assert ours[2] == "protocol `actor-6fold` (subject-independent folds)"
    assert ours[4] == f"{full.mean() * 100:.2f} ± {full.std(ddof=1) * 100:.2f} (n={len(full)})"
    assert not any("quick" in r[1] for r in rows)
    assert "quick: left out, synthetic data" in text
    ablation = {r[0]: r[1:] for r in rows if r[0].startswith(("Full model", "w/o cross", "Video only"))}
    assert ablation["Full model (AVT-CA)"][0].startswith(f"{full.mean() * 100:.2f}")
    assert "Δ -" in ablation["w/o cross attention"][0] and "p=" in ablation["w/o cross attention"][0]
    assert ablation["Video only"] == ["not run"] * 3  # the toy study has no video-only variant; no other study
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
