"""A synthetic CMU-MOSEI feature pickle in the MMSA layout (`unaligned_50.pkl`), sentiment split across modalities."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from avtca.data.config import SyntheticOptions
from avtca.data.datasets.mosei import AUDIO_DIM, VISION_DIM

AUDIO_STEPS, VISION_STEPS, TEXT_DIM = 60, 60, 16  # small stand-ins for the real 500 / 768-d sizes


def generate_mosei(out: Path, opts: SyntheticOptions) -> dict:
    """Write `unaligned_50.pkl`: sentiment = audio part + video part, emotions derived from both; some clips corrupted."""
    rng = np.random.default_rng([opts.seed, 4242])
    n = opts.clips
    videos = max(3, n // 4)  # ~4 segments per source video (speaker), as in MOSEI
    video_of = np.sort(rng.integers(0, videos, size=n))
    order = rng.permutation(videos)  # speaker-disjoint 70/10/20 split by video
    cut1, cut2 = int(0.7 * videos), int(0.8 * videos)
    split_of_video = {v: ("train" if i < cut1 else "valid" if i < cut2 else "test") for i, v in enumerate(order)}
    s_audio, s_video = rng.normal(0, 1.2, size=n), rng.normal(0, 1.2, size=n)
    sentiment = np.clip(s_audio + s_video, -3, 3)
    emotions = np.clip(np.stack([np.maximum(sentiment, 0), np.maximum(-sentiment, 0), np.maximum(-s_audio, 0),
                                 np.abs(s_video) / 2, np.maximum(-s_video, 0) / 2, np.abs(s_audio) / 3], 1), 0, 3)  # fmt: skip
    a_dir, v_dir = rng.normal(size=AUDIO_DIM), rng.normal(size=VISION_DIM)
    lost = {}
    per_split: dict[str, dict[str, list]] = {s: {} for s in ("train", "valid", "test")}
    for i in range(n):
        seg = f"synth{video_of[i]:04d}$_${i % 7}"
        u = rng.random()
        lost[seg] = (
            "audio" if u < opts.corrupt_audio else "video" if u < opts.corrupt_audio + opts.corrupt_video else None
        )
        a_len, v_len = int(rng.integers(20, AUDIO_STEPS)), int(rng.integers(20, VISION_STEPS))
        audio = np.zeros((AUDIO_STEPS, AUDIO_DIM), np.float32)
        vision = np.zeros((VISION_STEPS, VISION_DIM), np.float32)
        t = np.linspace(0, 1, a_len)[:, None]
        a_sig = 0.0 if lost[seg] == "audio" else s_audio[i]
        v_sig = 0.0 if lost[seg] == "video" else s_video[i]
        audio[:a_len] = a_sig * a_dir * (0.8 + 0.4 * np.sin(6 * t)) + rng.normal(0, 1, (a_len, AUDIO_DIM))
        audio[0, :3] = -np.inf  # COVAREP pickles contain -inf; loaders must clean it
        vision[:v_len] = v_sig * v_dir + rng.normal(0, 1, (v_len, VISION_DIM))
        rows = per_split[split_of_video[video_of[i]]]
        for key, value in (("audio", audio), ("vision", vision), ("audio_lengths", a_len), ("vision_lengths", v_len),
                           ("regression_labels", np.float32(sentiment[i])), ("emotion_labels", emotions[i]),
                           ("id", seg), ("raw_text", "synthetic segment"),
                           ("text", np.zeros((50, TEXT_DIM), np.float32)),
                           ("text_bert", np.zeros((3, 50), np.float32))):  # fmt: skip
            rows.setdefault(key, []).append(value)
    data = {}
    for name, rows in per_split.items():
        split = {
            k: (np.asarray(v) if k not in ("id", "raw_text") else np.asarray(v, dtype=object)) for k, v in rows.items()
        }
        split["regression_labels"] = split["regression_labels"].astype(np.float32)
        split["emotion_labels"] = split["emotion_labels"].astype(np.float32)
        split["classification_labels"] = np.sign(split["regression_labels"]).astype(np.float32)
        data[name] = split
    with (Path(out) / "unaligned_50.pkl").open("wb") as fh:
        pickle.dump(data, fh, protocol=4)
    return lost
