"""docs/ARCHITECTURE.md's "a report figure" recipe, copied as written into a new module, is drawn per dataset, shown
in the README and report.tex, and byte-identical between two renders; the built-in figures register the same way."""

from __future__ import annotations

import matplotlib.image as mpimg
import pytest

from ablations.report import render
from ablations.report.rendering.registry import REPORT_FIGURES, ReportFigure, register_figure, unregister
from tests.recipes import recipe_module


@pytest.fixture
def cells_figure(tmp_path, monkeypatch):
    with recipe_module("docs/ARCHITECTURE.md", "- **a report figure**", "cells_figure", tmp_path, monkeypatch):
        yield
        unregister("cells")


@pytest.mark.slow
def test_recipe_figure_is_drawn_shown_and_deterministic(cells_figure, export, tmp_path):
    a = render(export, out=tmp_path / "a", formats=("tex", "png"))
    b = render(export, out=tmp_path / "b", formats=("tex", "png"))
    name = "fig_cells_ravdess_actor-6fold.png"
    assert (a / name).read_bytes() == (b / name).read_bytes()
    assert (a / name).with_suffix(".svg").read_bytes() == (b / name).with_suffix(".svg").read_bytes()
    assert mpimg.imread(a / name).std() > 0.01
    assert f"![RAVDESS (actor-6fold): finished cells per variant]({name})" in (a / "README.md").read_text()
    assert f"{{{name}}}" in (a / "report.tex").read_text()


def test_figure_registry_holds_the_built_ins_and_rejects_a_second_key():
    from ablations.report.rendering import figures  # noqa: F401 - registers the built-ins

    assert {"forest", "pareto", "confusion", "learning", "noise"} <= set(REPORT_FIGURES)
    assert "metrics" not in REPORT_FIGURES  # the four near-identical bar charts are gone
    with pytest.raises(ValueError, match="registered twice"):
        register_figure(ReportFigure("forest", "again", lambda inputs, i, path: None))
