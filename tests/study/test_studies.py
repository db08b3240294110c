"""Every shipped study file validates and resolves every one of its cells."""

from __future__ import annotations

from pathlib import Path

import pytest

from ablations.study.cells import enumerate_cells, objective_problems, study_folds
from ablations.study.schema import load_study, variant_labels
from tests.tiny import REPO

STUDIES = sorted((REPO / "studies").rglob("*.yaml"))  # studies/aa/ too (the A/A measurement, docs/statistics.md)


def test_the_shipped_studies_exist():
    names = {p.stem for p in STUDIES}
    assert {"quickstart", "ravdess", "cremad", "mosei", "tune_avtca"} <= names


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: str(p.relative_to(REPO / "studies").with_suffix("")))
def test_study_file_validates_and_every_cell_resolves(path: Path):
    study = load_study(path)
    assert objective_problems(study) == []
    cells = enumerate_cells(study, str(path))
    labels = variant_labels(study)
    assert study.reference_label in labels
    assert len(cells) == len(labels) * len(study.seeds) * study.dataset.repeats * (
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
    from ablations.study.cells import resolve
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


def test_ravdess_modulator_is_a_2x2x2_factorial_of_the_modulators_parts_with_the_paper_model_as_reference(
    tmp_path, monkeypatch, capsys
):
    from ablations.run import main as run_main
    from ablations.study.cells import resolve

    path = REPO / "studies" / "ravdess_modulator.yaml"
    study = load_study(path)
    parts = ["model.video.channel_attention.kind", "model.video.spatial_attention.kind",
             "model.video.local_features.kind"]  # fmt: skip
    assert list(study.factors) == parts and all(
        len(levels) == 2 and "off" in levels for levels in study.factors.values()
    )
    assert study.dataset.protocol == "actor6fold" and study.dataset.repeats == 3 and study.report.margin == 5
    cells = enumerate_cells(study, str(path))
    reference = next(c for c in cells if c.variant == study.reference_label)
    video = resolve(study, reference.overrides).model.video
    assert (video.channel_attention.kind, video.spatial_attention.kind, video.local_features.kind) == (
        "se",
        "conv",
        "lfe",
    )
    assert len({tuple(c.factors.values()) for c in cells}) == 8 and len(cells) == 8 * 3 * 6
    monkeypatch.chdir(tmp_path)  # the dry run writes nothing; its default stores resolve here
    assert run_main([str(path), "--dry-run", "--data-root", "synthetic"]) == 0
    assert "study ravdess_modulator: 144 cells" in capsys.readouterr().out and not list(tmp_path.iterdir())
