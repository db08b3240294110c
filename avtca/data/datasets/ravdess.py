"""RAVDESS adapter: `Actor_XX/MM-VC-EE-II-SS-RR-AA.(mp4|wav)`, one sample per recording."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from avtca.config.base import Strict
from avtca.data.adapter import DatasetAdapter, media_inputs
from avtca.data.protocols import RANDOM, ActorKFold, FixedActors
from avtca.data.registry import DATASETS
from avtca.data.sources import Clip, DataLayoutError, Scan

CLASS_NAMES = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
N_ACTORS = 24
NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)\.(mp4|wav)$")
ACTOR_DIR = re.compile(r"^Actor_(\d\d)$")
LAYOUT = "Actor_01 .. Actor_24 folders holding MM-VC-EE-II-SS-RR-AA.mp4 / .wav files"
CHANNELS = {"speech": ("01",), "song": ("02",), "both": ("01", "02")}
# fixed actor splits, as actor numbers: the AVT-CA release's annotations.txt, and the code base AVT-CA forks (ICPR 2022)
AVTCA_RELEASE = FixedActors(
    "avtca_release", test=(1, 2, 3, 4), val=(5, 6, 7, 8),
    description="AVT-CA release split (test actors 1-4, val 5-8, train 9-24; subject-independent)",
)  # fmt: skip
ECM_FIXED = FixedActors("ecm_fixed", test=(5, 10, 16, 19), val=(11, 13, 18, 22))


class RavdessOptions(Strict):
    """RAVDESS: which vocal channel, and where a clip's audio comes from (`data.ravdess.*`)."""

    vocal_channel: Literal["speech", "song", "both"] = "speech"
    # 'wav' = the 03 audio-only file of the same clip (falls back to the mp4 track); 'mp4' = the 01 file's track
    audio_source: Literal["wav", "mp4"] = "wav"


RANGES = {"modality": ("01", "02", "03"), "channel": ("01", "02"), "intensity": ("01", "02"),
          "statement": ("01", "02"), "repetition": ("01", "02")}  # fmt: skip


def parse_name(name: str) -> dict[str, str] | None:
    """Fields of a RAVDESS file name, or None when it is not one (ranges are checked, nothing guessed)."""
    m = NAME.match(name)
    if not m:
        return None
    keys = ("modality", "channel", "emotion", "intensity", "statement", "repetition", "actor", "ext")
    fields = dict(zip(keys, m.groups(), strict=True))
    if any(fields[k] not in allowed for k, allowed in RANGES.items()):
        return None
    if not 1 <= int(fields["emotion"]) <= 8 or not 1 <= int(fields["actor"]) <= N_ACTORS:
        return None
    if (fields["ext"] == "wav") != (fields["modality"] == "03"):
        return None  # audio-only recordings are .wav, audio-video / video-only are .mp4
    return fields


def actor_dirs(root: Path) -> list[Path]:
    """`Actor_XX` folders anywhere up to two levels below root (the per-actor zips may be unpacked apart)."""
    if not root.is_dir():
        raise DataLayoutError(f"RAVDESS root {root} does not exist or is not a directory; expected {LAYOUT}")
    found = [p for pattern in ("Actor_*", "*/Actor_*", "*/*/Actor_*") for p in root.glob(pattern)]
    dirs = sorted((p for p in found if p.is_dir() and ACTOR_DIR.match(p.name)), key=lambda p: (p.name, str(p)))
    if not dirs:
        seen = sorted(p.name for p in root.iterdir())[:10]
        raise DataLayoutError(f"RAVDESS root {root}: expected {LAYOUT}; found {seen or 'an empty folder'}")
    return dirs


def scan(root: str | Path, options: RavdessOptions) -> Scan:
    """Pair each recording's video (01, else 02 mp4) with its audio (03 wav or the 01 mp4's track)."""
    out = Scan()
    groups: dict[tuple[str, ...], dict[str, Path]] = {}
    for folder in actor_dirs(Path(root)):
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or path.is_dir():
                continue
            fields = parse_name(path.name)
            if fields is None:
                out.problems.append((str(path), "unrecognised file name (expected MM-VC-EE-II-SS-RR-AA.mp4|wav)"))
                continue
            if fields["actor"] != ACTOR_DIR.match(folder.name).group(1):
                out.problems.append((str(path), f"actor {fields['actor']} in the name but stored in {folder.name}"))
                continue
            if fields["channel"] not in CHANNELS[options.vocal_channel]:
                continue
            key = tuple(fields[k] for k in ("channel", "emotion", "intensity", "statement", "repetition", "actor"))
            groups.setdefault(key, {})[fields["modality"]] = path
    for key in sorted(groups):
        files = groups[key]
        clip_id = "-".join(key)
        video = files.get("01") or files.get("02")
        if options.audio_source == "wav":
            audio = files.get("03") or files.get("01")
        else:
            audio = files.get("01") or files.get("03")
        if video is None or audio is None:
            missing = "video (01/02 mp4)" if video is None else "audio (03 wav or 01 mp4)"
            out.problems.append((clip_id, f"no {missing} for this recording"))
            continue
        out.clips.append(Clip(id=clip_id, actor=key[5], label=int(key[1]) - 1, video=str(video), audio=str(audio)))
    return out


ADAPTER = DATASETS.register(
    DatasetAdapter(
        name="ravdess",
        title="RAVDESS",
        protocols=(ActorKFold(6), AVTCA_RELEASE, ECM_FIXED, RANDOM),
        describe=lambda cfg: media_inputs(cfg, "classification", CLASS_NAMES),
        n_actors=N_ACTORS,
        scan=lambda root, cfg: scan(root, cfg.options),
        rank=0,
        options=RavdessOptions,
        options_in_every_config=True,
    )
)
