"""The README's "Adding a component" recipe, copied as written into a new module, works with no other edit."""

from __future__ import annotations

import pytest
import torch
import yaml

from ablations.study.cells import enumerate_cells, resolve
from ablations.study.schema import load_study
from avtca.config.base import ConfigError
from avtca.models import create_model
from avtca.models.cross_attention import CROSS_ATTENTION
from avtca.models.model import model_config
from tests.models.helpers import TINY, audio_batch, video_batch
from tests.recipes import recipe_module


@pytest.fixture
def mine(tmp_path, monkeypatch):
    """The recipe written into `my_cross_attention.py` beside the user's code and imported."""
    with recipe_module("README.md", "## Adding a component", "my_cross_attention", tmp_path, monkeypatch) as module:
        yield module
        CROSS_ATTENTION.unregister("mine")


def test_recipe_registers_a_valid_kind(mine):
    assert "mine" in CROSS_ATTENTION.names()
    cfg = model_config("avtca", **{"cross_attention.kind": "mine", "cross_attention.heads": 4})
    assert isinstance(cfg.cross_attention, mine.CrossAttentionMine) and cfg.cross_attention.heads == 4
    # the config round-trips through plain data (cell ids, MLflow params, checkpoints)
    assert model_config(cfg.model_dump(mode="json")) == cfg
    with pytest.raises(
        ConfigError, match=r"model.cross_attention.kind: 'mne' is not one of .*mine.* \(did you mean 'mine'\?\)"
    ):
        model_config("avtca", **{"cross_attention.kind": "mne"})
    with pytest.raises(ConfigError, match=r"model.cross_attention.dim: unknown key; allowed keys are heads, kind"):
        model_config("avtca", **{"cross_attention.kind": "mine", "cross_attention.dim": 64})


def test_recipe_model_builds_and_trains_one_step(mine):
    model = create_model("avtca", **TINY, **{"cross_attention.kind": "mine"}).train()
    assert isinstance(model.cross_attention, mine.MyCrossAttention)
    before = [p.detach().clone() for p in model.cross_attention.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    logits = model(audio_batch(), video_batch())
    loss = torch.nn.functional.cross_entropy(logits, torch.arange(logits.shape[0]) % logits.shape[1])
    loss.backward()
    optimizer.step()
    assert any(not torch.equal(b, p) for b, p in zip(before, model.cross_attention.parameters()))


def test_recipe_kind_is_valid_in_a_study(mine, tmp_path):
    study_file = tmp_path / "study.yaml"
    study_file.write_text(
        yaml.safe_dump(
            {
                "name": "mine",
                "dataset": {"name": "ravdess", "root": "synthetic", "folds": [0]},
                "variants": {"full": {}, "mine": {"model.cross_attention.kind": "mine"}},
                "factors": {"model.cross_attention.heads": [4, 8]},
            }
        )
    )
    study = load_study(study_file)
    cells = enumerate_cells(study, str(study_file))  # resolves and validates every cell's config
    configs = {c.variant: resolve(study, c.overrides).model.cross_attention for c in cells}
    assert configs["mine,model.cross_attention.heads=4"] == mine.CrossAttentionMine(heads=4)
    assert len({c.cell_id for c in cells}) == len(cells) == 4
    study_file.write_text(study_file.read_text().replace("kind: mine", "kind: mien"))
    with pytest.raises(ConfigError, match=r"model.cross_attention.kind: 'mien' is not one of .*mine"):
        enumerate_cells(load_study(study_file), str(study_file))
