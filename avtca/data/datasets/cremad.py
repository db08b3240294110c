"""CREMA-D adapter: `VideoFlash/*.flv` + `AudioWAV/*.wav` named `1001_DFA_ANG_XX`; intended or perceived labels."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Literal

import numpy as np

from avtca.config.base import Strict
from avtca.data.adapter import DatasetAdapter, media_inputs
from avtca.data.cache import Prepared
from avtca.data.config import DataConfig
from avtca.data.protocols import RANDOM, ActorKFold
from avtca.data.registry import DATASETS
from avtca.data.sources import Clip, DataLayoutError, Scan

CODES = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
CLASS_NAMES = ("anger", "disgust", "fear", "happy", "neutral", "sad")
VOTE_LETTERS = ("A", "D", "F", "H", "N", "S")  # tabulatedVotes.csv columns / emoVote values, same order
SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")
N_ACTORS = 91
NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_(LO|MD|HI|XX)\.(flv|wav)$")
LAYOUT = "VideoFlash/<id>.flv and AudioWAV/<id>.wav with ids like 1001_DFA_ANG_XX"
VOTES = Path("processedResults") / "tabulatedVotes.csv"


class CremadOptions(Strict):
    """CREMA-D: intended labels (file name) or perceived labels (majority of crowd votes) (`data.cremad.*`)."""

    labels: Literal["intended", "perceived"] = "intended"


def parse_name(name: str) -> dict[str, str] | None:
    """Fields of a CREMA-D file name, or None when it is not one."""
    m = NAME.match(name)
    if not m:
        return None
    actor, sentence, emotion, level, ext = m.groups()
    if not 1001 <= int(actor) <= 1000 + N_ACTORS or sentence not in SENTENCES or emotion not in CODES:
        return None
    return {"actor": actor, "sentence": sentence, "emotion": emotion, "level": level, "ext": ext}


def perceived_labels(root: Path) -> dict[str, int]:
    """Majority-vote label per clip id from tabulatedVotes.csv (audio-visual ratings when present; ties left out)."""
    path = root / VOTES
    if not path.is_file():
        return {}
    rows: dict[str, list[tuple[str, str]]] = {}
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            name, vote = row.get("fileName"), row.get("emoVote")
            if name and vote:
                rows.setdefault(name, []).append((next(iter(row.values()), ""), vote))
    out = {}
    for name, votes in rows.items():
        # the response id's first digit is the rated modality; 3 = audio-visual, the one that matches our input
        chosen = [v for rid, v in votes if rid.startswith("3")] or [v for _, v in votes]
        vote = chosen[0]
        if vote in VOTE_LETTERS:  # "A:D" style ties have no single majority label
            out[name] = VOTE_LETTERS.index(vote)
    return out


def scan(root: str | Path, options: CremadOptions) -> Scan:
    """Pair `VideoFlash/<id>.flv` with `AudioWAV/<id>.wav`; intended label from the id, perceived from the votes."""
    root = Path(root)
    video_dir, audio_dir = root / "VideoFlash", root / "AudioWAV"
    if not video_dir.is_dir() or not audio_dir.is_dir():
        seen = sorted(p.name for p in root.iterdir())[:10] if root.is_dir() else "no such directory"
        raise DataLayoutError(f"CREMA-D root {root}: expected {LAYOUT}; found {seen}")
    out = Scan()
    files: dict[str, dict[str, Path]] = {}
    for folder, ext in ((video_dir, "flv"), (audio_dir, "wav")):
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or path.is_dir():
                continue
            fields = parse_name(path.name)
            if fields is None or fields["ext"] != ext:
                out.problems.append((str(path), f"unrecognised file name (expected <actor>_<SEN>_<EMO>_<LVL>.{ext})"))
                continue
            files.setdefault(path.stem, {})[ext] = path
    votes = perceived_labels(root)
    if options.labels == "perceived" and not votes:
        raise DataLayoutError(f"CREMA-D perceived labels need {root / VOTES} (with fileName and emoVote columns)")
    for clip_id in sorted(files):
        pair = files[clip_id]
        if "flv" not in pair or "wav" not in pair:
            missing = "VideoFlash .flv" if "flv" not in pair else "AudioWAV .wav"
            out.problems.append((clip_id, f"no {missing} for this clip"))
            continue
        fields = parse_name(clip_id + ".wav")
        out.clips.append(
            Clip(
                id=clip_id,
                actor=fields["actor"],
                label=CODES.index(fields["emotion"]),
                video=str(pair["flv"]),
                audio=str(pair["wav"]),
                perceived=votes.get(clip_id, -1),
            )
        )
    return out


def _targets(cfg: DataConfig, prepared: Prepared) -> tuple[np.ndarray, np.ndarray] | None:
    """Perceived (majority-vote) labels when configured; clips without a majority are left out."""
    if cfg.options.labels != "perceived":
        return None
    if "perceived" not in prepared.extra:
        raise ValueError("perceived labels were not prepared (processedResults/tabulatedVotes.csv missing?)")
    target = prepared.extra["perceived"]
    return target, np.flatnonzero(target >= 0)


ADAPTER = DATASETS.register(
    DatasetAdapter(
        name="cremad",
        title="CREMA-D",
        protocols=(ActorKFold(5), RANDOM),
        describe=lambda cfg: media_inputs(cfg, "classification", CLASS_NAMES),
        n_actors=N_ACTORS,
        scan=lambda root, cfg: scan(root, cfg.options),
        clip_arrays=lambda clips: {"perceived": np.array([c.perceived for c in clips], dtype=np.int64)},
        targets=_targets,
        rank=1,
        options=CremadOptions,
        cached_options=(),  # the label choice is applied after the cache (both label sets are cached)
        options_in_every_config=True,
    )
)
