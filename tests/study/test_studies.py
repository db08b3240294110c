"""Every shipped study file validates and resolves every one of its cells."""

from __future__ import annotations

from pathlib import Path

import pytest

from ablations.cells import enumerate_cells, objective_problems, study_folds
from ablations.study import load_study, variant_labels
from tests.tiny import REPO

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


def test_quickstart_has_the_nine_paper_ablations_on_all_six_folds_each_changing_what_it_says():
    study = load_study(REPO / "studies" / "quickstart.yaml")
    assert study.dataset.root == "synthetic" and study.dataset.protocol == "actor6fold"
    assert study.reference_label == "full"
    assert len(study.variants) == 9 and study.seeds == [0] and study_folds(study) == [0, 1, 2, 3, 4, 5]
    by_variant = {c.variant: c for c in enumerate_cells(study)}
    from ablations.cells import resolve
    from avtca.config.base import flatten

    full = flatten(resolve(study, by_variant["full"].overrides).model.model_dump(mode="json"))
    assert full["cross_attention.kind"] == "bidirectional" and full["fusion.kind"] == "it"
    # what each variant changes in the resolved model config (the descriptions in the file say the same)
    changed = {}
    for name, cell in by_variant.items():
        model = flatten(resolve(study, cell.overrides).model.model_dump(mode="json"))
        changed[name] = {k: model.get(k) for k in set(model) | set(full) if model.get(k) != full.get(k)}
        assert cell.description, name
    kinds = {
        name: {k: v for k, v in diff.items() if k.endswith("kind") or k == "modalities"}
        for name, diff in changed.items()
    }
    assert kinds["no_cross_attention"] == {"cross_attention.kind": "off"}
    assert kinds["shared_self"] == {"cross_attention.kind": "shared_self"}
    assert kinds["no_channel_attention"] == {"video.channel_attention.kind": "off"}
    assert kinds["no_spatial_attention"] == {"video.spatial_attention.kind": "off"}
    assert kinds["no_local_features"] == {"video.local_features.kind": "off"}
    # the released 'lt' model: late transformer fusion and no attention after it
    assert kinds["late_fusion"] == {"fusion.kind": "lt", "cross_attention.kind": "off"}
    assert kinds["audio_only"] == {"modalities": "audio"} and kinds["video_only"] == {"modalities": "video"}
