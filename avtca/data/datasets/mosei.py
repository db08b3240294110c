"""CMU-MOSEI from the community feature pickles (MMSA aligned/unaligned_50.pkl, MulT mosei_senti_data.pkl)."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import PositiveInt

from avtca.config.base import Strict
from avtca.data.adapter import DatasetAdapter, Inputs
from avtca.data.cache import Prepared
from avtca.data.config import DataConfig
from avtca.data.protocols import OFFICIAL
from avtca.data.registry import DATASETS
from avtca.data.sources import DataLayoutError

EMOTIONS = ("happy", "sad", "anger", "surprise", "disgust", "fear")
AUDIO_DIM, VISION_DIM = 74, 35  # COVAREP, FACET
SPLITS = ("train", "valid", "test")
OFFICIAL_SIZES = {"train": 16326, "valid": 1871, "test": 4659}
LAYOUT = (
    "a pickle with splits train/valid/test, each holding `audio` (N, L, 74), `vision` (N, L, 35), `id` and either "
    "`regression_labels` (MMSA aligned_50.pkl / unaligned_50.pkl) or `labels` (MulT mosei_senti_data.pkl)"
)


class MoseiOptions(Strict):
    """CMU-MOSEI community feature pickle (`data.mosei.*`): file name under root, its format, task, sequence length."""

    file: str = "unaligned_50.pkl"
    format: Literal["auto", "mmsa", "mult"] = "auto"
    task: Literal["sentiment", "emotions"] = "sentiment"
    seq_len: PositiveInt = 50  # features are truncated / zero-padded to this many steps


def detect_format(split: dict) -> str:
    """'mmsa' or 'mult' from the keys of one split."""
    if "regression_labels" in split:
        return "mmsa"
    if "labels" in split:
        return "mult"
    raise DataLayoutError(f"MOSEI pickle: expected {LAYOUT}; split keys are {sorted(split)}")


def _fit(seq: np.ndarray, length: int | None, steps: int) -> np.ndarray:
    """(L, D) -> (D, steps): valid part (first `length` rows) sampled uniformly, or zero-padded when shorter."""
    seq = np.nan_to_num(np.asarray(seq, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    if length is not None and 0 < int(length) <= len(seq):
        seq = seq[: int(length)]
    if len(seq) > steps:
        seq = seq[np.linspace(0, len(seq) - 1, steps).round().astype(int)]
    out = np.zeros((steps, seq.shape[1]), dtype=np.float32)
    out[: len(seq)] = seq
    return out.T


def _speaker(clip_id: Any) -> tuple[str, str]:
    """(segment id, video id) from an MMSA id `video$_$segment` or a MulT id row `[video, start, end]`."""
    if isinstance(clip_id, (list, tuple, np.ndarray)):
        parts = [p.decode() if isinstance(p, bytes) else str(p) for p in clip_id]
        return "$_$".join(parts), parts[0]
    text = clip_id.decode() if isinstance(clip_id, bytes) else str(clip_id)
    return text, text.split("$_$")[0]


def _labels(split: dict, fmt: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Sentiment (N,) and, where the file carries them, the six emotion intensities (N, 6)."""
    if fmt == "mmsa":
        senti = np.asarray(split["regression_labels"], dtype=np.float32).reshape(-1)
        emo = split.get("emotion_labels")
        return senti, None if emo is None else np.asarray(emo, dtype=np.float32).reshape(len(senti), 6)
    labels = np.asarray(split["labels"], dtype=np.float32)
    labels = labels.reshape(len(labels), -1)
    # 7 values per segment = the CMU-MultimodalSDK All_Labels order: sentiment, then the six emotions
    return labels[:, 0], (labels[:, 1:7] if labels.shape[1] >= 7 else None)


def load(root: Path, options: MoseiOptions) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Arrays (audio (N, 74, S), video (N, 35, S), target (N,), emotions (N, 6)) + manifest for the cache."""
    path = Path(root) / options.file
    if not path.is_file():
        seen = sorted(p.name for p in Path(root).iterdir())[:10] if Path(root).is_dir() else "no such directory"
        raise DataLayoutError(f"MOSEI: {path} not found; expected {LAYOUT}; found {seen}")
    with path.open("rb") as fh:
        head = fh.read(23)
    if head.startswith(b"version https://git-lfs"):
        raise DataLayoutError(f"MOSEI: {path} is a git-lfs pointer stub, not the pickle (run `git lfs pull`)")
    try:
        with path.open("rb") as fh:
            data = pickle.load(fh, encoding="latin1")
    except Exception as err:  # noqa: BLE001 - any unpickling failure means a broken file
        raise DataLayoutError(f"MOSEI: cannot read {path}: {type(err).__name__}: {err}") from None
    if not isinstance(data, dict) or not all(s in data for s in SPLITS):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise DataLayoutError(f"MOSEI {path}: expected {LAYOUT}; top level has {found}")
    fmt = detect_format(data["train"]) if options.format == "auto" else options.format
    audio, video, target, emotions, ids, actors, splits = [], [], [], [], [], [], []
    counts, skipped = {}, []
    for name in SPLITS:
        split = data[name]
        missing = [k for k in ("audio", "vision", "id") if k not in split]
        if missing:
            raise DataLayoutError(f"MOSEI {path} [{name}]: missing keys {missing}; expected {LAYOUT}")
        senti, emo = _labels(split, fmt)
        a_len, v_len = split.get("audio_lengths"), split.get("vision_lengths")
        n = len(senti)
        for i in range(n):
            seg, video_id = _speaker(split["id"][i])
            a, v = np.asarray(split["audio"][i]), np.asarray(split["vision"][i])
            if a.ndim != 2 or v.ndim != 2 or a.shape[1] != AUDIO_DIM or v.shape[1] != VISION_DIM:
                skipped.append({"id": seg, "reason": f"feature shapes {a.shape}/{v.shape}, expected (L, 74)/(L, 35)"})
                continue
            audio.append(_fit(a, None if a_len is None else a_len[i], options.seq_len))
            video.append(_fit(v, None if v_len is None else v_len[i], options.seq_len))
            target.append(senti[i])
            emotions.append(emo[i] if emo is not None else np.zeros(6, np.float32))
            ids.append(seg)
            actors.append(video_id)
            splits.append(name)
        counts[name] = n
    arrays = {
        "audio": np.stack(audio),
        "video": np.stack(video),
        "target": np.asarray(target, dtype=np.float32),
    }
    has_emotions = fmt == "mult" and data["train"]["labels"].reshape(counts["train"], -1).shape[1] >= 7
    has_emotions = has_emotions or (fmt == "mmsa" and "emotion_labels" in data["train"])
    if has_emotions:
        arrays["emotions"] = np.stack(emotions).astype(np.float32)
    manifest = {
        "dataset": "mosei",
        "root": str(root),
        "file": options.file,
        "format": fmt,
        "ids": ids,
        "actors": actors,
        "splits": splits,
        "split_sizes": counts,
        "official_sizes_match": counts == OFFICIAL_SIZES,
        "skipped": skipped,
        "problems": [],
    }
    return arrays, manifest


def describe(cfg: DataConfig) -> Inputs:
    """Pre-extracted COVAREP/FACET sequences; sentiment regression or six emotion intensities."""
    task, names = ("regression", ()) if cfg.options.task == "sentiment" else ("multilabel", EMOTIONS)
    head = {"kind": "regression"} if task == "regression" else {"kind": "multilabel", "n_labels": len(names)}
    return Inputs(
        task=task,
        class_names=names,
        audio_channels=AUDIO_DIM,
        audio_length=cfg.options.seq_len,
        video_kind="features",
        video_shape=(VISION_DIM, cfg.options.seq_len),
        model_inputs={
            "video": {"kind": "features", "in_dim": VISION_DIM},
            "audio": {"kind": "features", "in_dim": AUDIO_DIM},
            "head": head,
        },
    )


def _targets(cfg: DataConfig, prepared: Prepared) -> tuple[np.ndarray, np.ndarray] | None:
    """The six emotion intensities when `mosei.task` is emotions; else the sentiment score."""
    if cfg.options.task != "emotions":
        return None
    if "emotions" not in prepared.extra:
        raise ValueError(f"{cfg.options.file} carries no emotion intensities; use mosei.task=sentiment")
    return prepared.extra["emotions"].astype(np.float32), np.arange(len(prepared.ids))


ADAPTER = DATASETS.register(
    DatasetAdapter(
        name="mosei",
        title="CMU-MOSEI",
        protocols=(OFFICIAL,),
        describe=describe,
        load=lambda root, cfg: load(root, cfg.options),
        targets=_targets,
        rank=2,
        options=MoseiOptions,
        cached_options=("file", "format", "seq_len"),  # the task picks targets from the cached arrays
        options_in_every_config=True,
    )
)
