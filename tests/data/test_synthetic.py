"""Synthetic datasets: real names and containers, emotion carried by both modalities, corruption, caching, CLIs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from avtca.data import DataConfig, build_splits
from avtca.data.config import SyntheticOptions
from avtca.data.datasets.ravdess import RavdessOptions, parse_name, scan
from avtca.data.media import read_audio, video_span
from avtca.data.prepare import main as prepare_main
from avtca.data.synthetic import ensure_synthetic, generate, synthetic_dir
from avtca.data.synthetic.__main__ import main as synthetic_main
from avtca.data.synthetic.render import RAVDESS_CUES, face_frames, make_actor, voice
from tests.tiny import SYNTHETIC

# the generator's own tests: half the tiny dataset's actors (cheaper), other clip length and frame size than
# the tiny dataset (tests/tiny.py), so that a wrong default would show
SMALL = {**SYNTHETIC, "actors": 3, "seconds": 1.2, "size": 32}


def test_ravdess_format_names_containers_and_determinism(tmp_path):
    opts = SyntheticOptions(**SMALL)
    generate("ravdess", tmp_path / "a", opts, progress=False)
    generate("ravdess", tmp_path / "b", opts, progress=False, n_jobs=2)  # parallel: the same bytes
    files = sorted(p.relative_to(tmp_path / "a").as_posix() for p in (tmp_path / "a").rglob("*.*"))
    media = [f for f in files if f != "SYNTHETIC.json"]
    assert len(media) == 3 * 8 * 2 and all(parse_name(f.split("/")[1]) for f in media)
    assert {f.split("/")[0] for f in media} == {"Actor_01", "Actor_02", "Actor_03"}
    clips = scan(tmp_path / "a", RavdessOptions()).clips
    assert len(clips) == 24 and sorted({c.label for c in clips}) == list(range(8))
    t0, seconds = video_span(clips[0].video)
    assert seconds == pytest.approx(1.2, abs=0.05)
    assert read_audio(clips[0].audio, 48000, 0, 1.2).shape == (57600,)
    same = (tmp_path / "a/Actor_02/03-01-05-01-01-01-02.wav").read_bytes()
    assert same == (tmp_path / "b/Actor_02/03-01-05-01-01-01-02.wav").read_bytes()
    for f in media:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert (tmp_path / "a/SYNTHETIC.json").read_text() == (tmp_path / "b/SYNTHETIC.json").read_text()
    lost = json.loads((tmp_path / "a/SYNTHETIC.json").read_text())["corrupted"]
    assert set(lost.values()) <= {None, "audio", "video"} and len(lost) == 24


def _syllable_rate(sig: np.ndarray, sr: int) -> float:
    env = np.abs(sig).reshape(-1, sr // 100).mean(1)  # 10 ms frames
    on = env > 0.3 * env.max()
    return np.count_nonzero(on[1:] & ~on[:-1]) / (len(sig) / sr)


def _centroid(sig: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(sig))
    return float((np.fft.rfftfreq(len(sig), 1 / sr) * spec).sum() / spec.sum())


def test_audio_carries_tempo_and_valence_video_carries_valence_and_brows():
    actor, rng = make_actor(1, 0), np.random.default_rng(0)
    sr = 16000
    slow, fast = voice((0, 0, 0), actor, 1, 3.6, sr, rng), voice((1, 0, 0), actor, 1, 3.6, sr, rng)
    assert _syllable_rate(fast, sr) > 1.5 * _syllable_rate(slow, sr)
    dark, bright = voice((0, 0, 0), actor, 1, 3.6, sr, rng), voice((0, 1, 0), actor, 1, 3.6, sr, rng)
    assert _centroid(bright, sr) > 1.3 * _centroid(dark, sr)
    base = face_frames((0, 0, 0), actor, 1, 1.0, 10, 64, rng).astype(float).mean(0)
    smile = face_frames((0, 1, 0), actor, 1, 1.0, 10, 64, rng).astype(float).mean(0)
    brows = face_frames((0, 0, 1), actor, 1, 1.0, 10, 64, rng).astype(float).mean(0)
    mouth, upper = (slice(40, 56), slice(16, 48)), (slice(6, 30), slice(12, 52))
    assert np.abs(smile - base)[mouth].mean() > 4 * np.abs(smile - base)[upper].mean()
    assert np.abs(brows - base)[upper].mean() > 4 * np.abs(brows - base)[mouth].mean()
    assert set(RAVDESS_CUES) == {"neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"}
    assert len(set(RAVDESS_CUES.values())) == 8  # every emotion is a distinct cue triple


def test_design_2_each_modality_carries_nothing_of_the_cue_it_lacks():
    """Audio carries no brow cue and video no tempo cue, so each modality alone is capped at 4 of 8 groups."""
    actor = make_actor(2, 0)
    for tempo, valence in ((0, 0), (1, 1)):
        no_brows = voice((tempo, valence, 0), actor, 1, 1.0, 16000, np.random.default_rng(5))
        brows = voice((tempo, valence, 1), actor, 1, 1.0, 16000, np.random.default_rng(5))
        assert np.array_equal(no_brows, brows)
    for valence, brow in ((0, 1), (1, 0)):
        slow = face_frames((0, valence, brow), actor, 1, 0.5, 10, 48, np.random.default_rng(6))
        fast = face_frames((1, valence, brow), actor, 1, 0.5, 10, 48, np.random.default_rng(6))
        assert np.array_equal(slow, fast)
    # while the cue each modality does carry still changes it
    assert not np.array_equal(
        voice((0, 0, 0), actor, 1, 1.0, 16000, np.random.default_rng(5)),
        voice((1, 0, 0), actor, 1, 1.0, 16000, np.random.default_rng(5)),
    )


def test_corruption_rates_follow_the_options(tmp_path):
    opts = SyntheticOptions(actors=4, statements=2, seconds=0.4, size=16, corrupt_audio=0.3, corrupt_video=0.3)
    generate("ravdess", tmp_path, opts, progress=False)
    lost = list(json.loads((tmp_path / "SYNTHETIC.json").read_text())["corrupted"].values())
    assert 0.1 < lost.count("audio") / len(lost) < 0.5 and 0.1 < lost.count("video") / len(lost) < 0.5
    none = SyntheticOptions(actors=2, statements=1, seconds=0.4, size=16, corrupt_audio=0, corrupt_video=0)
    generate("ravdess", tmp_path / "clean", none, progress=False)
    assert set(json.loads((tmp_path / "clean/SYNTHETIC.json").read_text())["corrupted"].values()) == {None}


def test_root_synthetic_is_generated_once_and_prepared(tmp_path):
    cfg = DataConfig(cache=str(tmp_path), frames=4, image_size=16, synthetic=SMALL)
    s = build_splits(cfg, progress=False)
    assert len(s.train) + len(s.val) + len(s.test) == 24
    assert s.info.synthetic and "(synthetic)" in s.info.protocol_label and s.info.n_folds == 3
    root = ensure_synthetic(cfg)
    stamp = (root / "SYNTHETIC.json").stat().st_mtime_ns
    assert ensure_synthetic(cfg) == root and (root / "SYNTHETIC.json").stat().st_mtime_ns == stamp
    other = DataConfig(cache=str(tmp_path), synthetic={**SMALL, "seed": 1})
    assert synthetic_dir(other) != synthetic_dir(cfg)  # never reused for other options


def test_clis(tmp_path, capsys):
    assert synthetic_main(["--format", "cremad", "--out", str(tmp_path / "c"), "--actors", "1", "--statements", "1",
                           "--size", "16"]) == 0  # fmt: skip
    assert len(list((tmp_path / "c" / "VideoFlash").glob("*.flv"))) == 6
    assert prepare_main(["--dataset", "cremad", "--root", str(tmp_path / "c"), "--cache", str(tmp_path / "k"),
                         "frames=2", "image_size=8", "protocol=random"]) == 0  # fmt: skip
    assert "cremad: 6 clips ready" in capsys.readouterr().err
    assert prepare_main(["--dataset", "cremad", "--root", str(tmp_path / "c"), "framez=2"]) == 2
    assert "did you mean 'frames'" in capsys.readouterr().err
    assert prepare_main(["--dataset", "ravdess", "--root", str(tmp_path / "c"), "--cache", str(tmp_path / "k")]) == 2
    assert "Actor_01 .. Actor_24" in capsys.readouterr().err
