"""CMU-MOSEI feature pickles: MMSA and MulT layouts, official split, sentiment and emotion tasks, bad files."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from avtca.data import DataConfig, build_splits, to_device
from avtca.data.config import SyntheticOptions
from avtca.data.datasets.mosei import MoseiOptions, load
from avtca.data.sources import DataLayoutError
from avtca.data.synthetic import generate


@pytest.fixture(scope="module")
def mmsa_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("mosei")
    generate("mosei", root, SyntheticOptions(clips=60), progress=False)
    return root


def _mult_split(n: int, rng, emotions: bool):
    labels = rng.uniform(-3, 3, size=(n, 1, 7 if emotions else 1)).astype(np.float32)
    return {
        "vision": rng.normal(size=(n, 50, 35)).astype(np.float32),
        "audio": np.where(rng.random((n, 50, 74)) < 0.01, -np.inf, rng.normal(size=(n, 50, 74))).astype(np.float32),
        "text": rng.normal(size=(n, 50, 300)).astype(np.float32),
        "labels": labels,
        "id": np.array([[f"vid{i // 2}".encode(), b"0.0", b"3.5"] for i in range(n)]),
    }


@pytest.fixture(scope="module")
def mult_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("mult")
    rng = np.random.default_rng(0)
    data = {s: _mult_split(n, rng, emotions=True) for s, n in (("train", 8), ("valid", 2), ("test", 4))}
    (root / "mosei_senti_data.pkl").write_bytes(pickle.dumps(data))
    return root


def test_mmsa_pickle_official_split_and_sentiment(mmsa_root, tmp_path):
    cfg = DataConfig(name="mosei", root=str(mmsa_root), cache=str(tmp_path))
    s = build_splits(cfg, progress=False)
    with (mmsa_root / "unaligned_50.pkl").open("rb") as fh:
        raw = pickle.load(fh)
    assert (len(s.train), len(s.val), len(s.test)) == tuple(len(raw[k]["id"]) for k in ("train", "valid", "test"))
    assert s.test.item_ids == list(raw["test"]["id"])
    item = s.train[0]
    assert item["audio"].shape == (74, 50) and item["video"].shape == (35, 50)
    assert item["target"].dtype == np.float32 or str(item["target"].dtype) == "torch.float32"
    audio, video, target = to_device(
        next(iter(__import__("torch").utils.data.DataLoader(s.train, batch_size=4))), "cpu"
    )
    assert bool(audio.isfinite().all()) and video.shape == (4, 35, 50) and target.shape == (4,)
    # speaker (source video) disjoint parts
    assert not set(s.train.item_actors) & set(s.test.item_actors)
    assert s.info.task == "regression" and s.info.protocol_label.startswith("CMU-MOSEI official split")


def test_emotions_task_gives_six_intensities(mmsa_root, mult_root, tmp_path):
    for root in (mmsa_root, mult_root):
        file = "unaligned_50.pkl" if root == mmsa_root else "mosei_senti_data.pkl"
        cfg = DataConfig(name="mosei", root=str(root), cache=str(tmp_path), mosei={"file": file, "task": "emotions"})
        s = build_splits(cfg, progress=False)
        assert s.train[0]["target"].shape == (6,) and s.info.model_inputs["head"] == {
            "kind": "multilabel",
            "n_labels": 6,
        }


def test_mult_layout_ids_labels_and_ignored_text(mult_root):
    arrays, manifest = load(mult_root, MoseiOptions(file="mosei_senti_data.pkl"))
    assert manifest["format"] == "mult" and manifest["split_sizes"] == {"train": 8, "valid": 2, "test": 4}
    assert manifest["actors"][:4] == ["vid0", "vid0", "vid1", "vid1"] and manifest["ids"][0] == "vid0$_$0.0$_$3.5"
    assert np.isfinite(arrays["audio"]).all() and arrays["emotions"].shape == (14, 6)
    assert not manifest["official_sizes_match"]


def test_sentiment_only_file_refuses_the_emotions_task(tmp_path):
    rng = np.random.default_rng(1)
    data = {s: _mult_split(4, rng, emotions=False) for s in ("train", "valid", "test")}
    (tmp_path / "m.pkl").write_bytes(pickle.dumps(data))
    cfg = DataConfig(
        name="mosei", root=str(tmp_path), cache=str(tmp_path / "c"), mosei={"file": "m.pkl", "task": "emotions"}
    )
    with pytest.raises(ValueError, match="carries no emotion intensities"):
        build_splits(cfg, progress=False)


def test_bad_files_name_the_expected_layout(tmp_path):
    with pytest.raises(DataLayoutError, match="not found; expected a pickle with splits train/valid/test"):
        load(tmp_path, MoseiOptions())
    (tmp_path / "unaligned_50.pkl").write_text("version https://git-lfs.github.com/spec/v1\n")
    with pytest.raises(DataLayoutError, match="git-lfs pointer"):
        load(tmp_path, MoseiOptions())
    (tmp_path / "unaligned_50.pkl").write_bytes(pickle.dumps({"train": {"audio": []}}))
    with pytest.raises(DataLayoutError, match=r"top level has \['train'\]"):
        load(tmp_path, MoseiOptions())
    (tmp_path / "unaligned_50.pkl").write_bytes(b"\x80\x04garbage")
    with pytest.raises(DataLayoutError, match="cannot read"):
        load(tmp_path, MoseiOptions())
