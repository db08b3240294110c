"""Cell identity hashes, enumeration, and exactly-once file claims across processes."""

from __future__ import annotations

import multiprocessing as mp
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ablations.storage.claims import FileClaimStore, claims_dir, open_claim_store, worker_name
from ablations.study.cells import RUNTIME_KEYS, cell_id, enumerate_cells, resolve
from ablations.study.schema import StudyConfig
from avtca.config.base import ConfigError, validate
from tests.children import claim_all_files
from tests.tiny import TINY


def tiny(**changes) -> StudyConfig:
    return validate(StudyConfig, {**TINY, **changes})


def test_cell_id_ignores_runtime_knobs_but_not_the_experiment():
    study = tiny()
    base = resolve(study, {})
    same = resolve(
        study,
        {
            "train.device": "cuda:1",
            "train.threads": 2,
            "train.num_workers": 3,
            "data.cache": "/elsewhere",
            "train.save_checkpoint": True,
            "train.optimizer.fused": True,
        },
    )
    assert cell_id(base, 0, 0) == cell_id(same, 0, 0)
    assert len(cell_id(base, 0, 0)) == 16
    assert cell_id(base, 0, 0) != cell_id(base, 1, 0)
    assert cell_id(base, 0, 0) != cell_id(base, 0, 1)
    assert cell_id(base, 0, 0) != cell_id(resolve(study, {"train.lr": 0.01}), 0, 0)
    assert cell_id(base, 0, 0) != cell_id(resolve(study, {"model.fusion.kind": "lt"}), 0, 0)


def test_runtime_keys_are_read_from_the_marked_fields():
    from pydantic import BaseModel

    from avtca.config.base import Strict, runtime, runtime_paths

    assert RUNTIME_KEYS == {
        "train.device",
        "train.num_workers",
        "train.threads",
        "train.save_checkpoint",
        "train.optimizer.fused",
        "data.cache",
        "data.n_jobs",
    }

    class Inner(Strict):
        workers: int = runtime(2)
        width: int = 3

    class Outer(BaseModel):
        inner: Inner = Inner()
        where: str = runtime("here")

    assert runtime_paths(Outer) == {"inner.workers", "where"}


def test_quickstart_cell_ids_are_pinned():
    """A study resumes by cell id: a schema change that moves the ids makes every existing study start over.

    If this fails after adding a config option, either its default changes nothing that was trained before
    and it is a runtime knob (declare it with `runtime(...)`, avtca.config.base), or the change is meant to retrain: then update the
    ids here and say so in the commit.
    """
    from ablations.study.schema import load_study

    path = Path(__file__).parents[2] / "studies" / "quickstart.yaml"
    cells = enumerate_cells(load_study(path), path)
    # issue 13: the quickstart became 9 variants x 1 seed x 6 folds on 24 actors (ids re-pinned on purpose);
    # issue 21: train.seeding (per-fold initial weights, the new default) and data.repeat moved every id on purpose
    assert [c.cell_id for c in cells[:2]] == ["d1360163a83e0eb8", "1ade4e216d718ba1"]
    assert len(cells) == 54 and all(c.description for c in cells)


def test_variant_descriptions_are_shown_but_never_part_of_cell_ids():
    plain = tiny(variants={"full": {}, "audio_only": {"model.modalities": "audio"}})
    described = tiny(
        variants={
            "full": {"description": "everything"},
            "audio_only": {"description": "no video encoder", "model.modalities": "audio"},
        }
    )
    assert [c.cell_id for c in enumerate_cells(plain)] == [c.cell_id for c in enumerate_cells(described)]
    assert [c.description for c in enumerate_cells(described)] == ["everything", "no video encoder"]
    assert [c.description for c in enumerate_cells(plain)] == ["", ""]
    assert described.variant_overrides_of("audio_only") == {"model.modalities": "audio"}
    with pytest.raises(ConfigError, match="audio_only.description: expected one line of text"):
        tiny(variants={"audio_only": {"description": ["not", "text"], "model.modalities": "audio"}})


def test_enumerate_crosses_variants_factors_and_seeds():
    study = tiny(seeds=[0, 1], factors={"model.fusion.kind": ["it", "lt"]})
    cells = enumerate_cells(study)
    assert len(cells) == 2 * 2 * 2
    labels = {c.variant for c in cells}
    assert labels == {
        "full,model.fusion.kind=it",
        "full,model.fusion.kind=lt",
        "audio_only,model.fusion.kind=it",
        "audio_only,model.fusion.kind=lt",
    }
    cell = next(c for c in cells if c.variant == "audio_only,model.fusion.kind=lt" and c.seed == 1)
    cfg = resolve(study, cell.overrides)
    assert (cfg.model.modalities, cfg.model.fusion.kind, cfg.train.seed) == ("audio", "lt", 1)
    assert cell.factors == {"model.fusion.kind": "lt"} and cell.name == "audio_only"


def test_two_variants_resolving_to_the_same_experiment_are_an_error():
    study = tiny(variants={"full": {}, "same": {"model.fusion.kind": "it"}})
    with pytest.raises(ConfigError, match="'same' resolves to the same experiment as 'full'"):
        enumerate_cells(study)


def test_bad_variant_names_the_variant_and_suggests():
    study = tiny(variants={"full": {}, "typo": {"model.cross_attention.kind": "bidirectonal"}})
    with pytest.raises(ConfigError) as err:
        enumerate_cells(study, "tiny.yaml")
    text = str(err.value)
    assert "variants.typo" in text and "model.cross_attention.kind" in text
    assert "did you mean 'bidirectional'" in text and text.startswith("tiny.yaml")


def test_claim_lifecycle(tmp_path):
    store = FileClaimStore(tmp_path / "claims", grace_s=60)
    assert store.status() == {} and not (tmp_path / "claims").exists()  # reading writes nothing
    assert store.claim("c1", "h:1:0")
    assert store.claim("c1", "h:1:0")  # the owner re-claiming keeps it
    assert not store.claim("c1", "h:2:0")
    store.fail("c1", "h:1:0", "boom")
    assert store.status()["c1"].state == "FAILED" and store.status()["c1"].reason == "boom"
    assert store.claim("c1", "h:2:0")  # a failed cell is claimable again
    store.fail("c1", "h:1:0", "not the owner any more")  # ignored: h:1 lost the claim
    assert store.status()["c1"].worker == "h:2:0" and store.status()["c1"].state == "RUNNING"
    store.complete("c1", "h:2:0", 7)
    assert store.status()["c1"].state == "COMPLETE" and store.status()["c1"].trial_number == 7
    assert not store.claim("c1", "h:3:0")  # complete is final
    store.release("c1")
    assert "c1" not in store.status()


def test_stale_claims_are_taken_over_after_grace(tmp_path):
    store = FileClaimStore(tmp_path, grace_s=0.3)
    assert store.claim("c", "otherhost:1:0")
    assert not store.claim("c", "h:2:0")
    store.heartbeat("c", "otherhost:1:0")
    assert store.stale() == []
    time.sleep(0.5)
    assert store.stale() == ["c"]
    assert store.claim("c", "h:2:0")


def test_a_dead_owner_on_this_host_is_stale_at_once(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = f"{worker_name().split(':')[0]}:{proc.pid}:0"
    store = FileClaimStore(tmp_path, grace_s=3600)
    assert store.claim("c", dead)
    assert store.claim("c", worker_name(1))
    alive = worker_name(2)  # this process: alive, so its claim holds
    assert store.claim("d", alive) and not store.claim("d", worker_name(3))


def test_racing_processes_claim_each_cell_exactly_once(tmp_path):
    ids = [f"cell{i:03d}" for i in range(40)]
    # spawn, not fork: a fork of a process with threads (an xdist worker has several) can deadlock in the child
    with mp.get_context("spawn").Pool(4) as pool:
        won = pool.starmap_async(claim_all_files, [(str(tmp_path), i, ids) for i in range(4)]).get(timeout=120)
    flat = [cid for w in won for cid in w]
    assert sorted(flat) == ids  # every cell claimed, none twice


def test_open_claim_store_puts_file_claims_beside_the_journal(tmp_path):
    store = open_claim_store(str(tmp_path / "optuna" / "s.journal"), "s", 10)
    assert isinstance(store, FileClaimStore)
    assert store.directory == tmp_path / "optuna" / "s.claims" / "s"
    assert claims_dir("runs/optuna/x.journal").as_posix() == "runs/optuna/x.claims"
