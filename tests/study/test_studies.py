"""Every shipped study file validates and resolves every one of its cells."""

from __future__ import annotations

from pathlib import Path

import pytest

from ablations.cells import enumerate_cells, objective_problems, study_folds
from ablations.study import load_study, variant_labels

from .conftest import REPO

STUDIES = sorted((REPO / "studies").glob("*.yaml"))


def test_the_shipped_studies_exist():
    names = {p.stem for p in STUDIES}
    assert {"quickstart", "ravdess", "cremad", "mosei", "tune_avtca"} <= names


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.stem)
def test_study_file_validates_and_every_cell_resolves(path: Path):
    study = load_study(path)
    assert objective_problems(study) == []
    cells = enumerate_cells(study, str(path))
    labels = variant_labels(study)
    assert study.reference_label in labels
    assert len(cells) == len(labels) * len(study.seeds) * (
        1 if study.budget.folds_per_trial == "all" else len(study_folds(study))
    )
    assert len({c.cell_id for c in cells}) == len(cells)
    assert {c.variant for c in cells} == set(labels)


def test_quickstart_has_the_nine_paper_ablations_on_synthetic_data():
    study = load_study(REPO / "studies" / "quickstart.yaml")
    assert study.dataset.root == "synthetic"
    assert study.reference_label == "full"
    assert len(study.variants) == 9 and len(study.seeds) == 2
    by_variant = {c.variant: c for c in enumerate_cells(study)}
    from ablations.cells import resolve

    cfg = resolve(study, by_variant["audio_only"].overrides)
    assert cfg.model.modalities == "audio"
    assert resolve(study, by_variant["no_cross_attention"].overrides).model.cross_attention.kind == "off"
    assert resolve(study, by_variant["full"].overrides).model.cross_attention.kind == "bidirectional"
