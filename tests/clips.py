"""Small datasets in the real on-disk formats, written with the same writers the synthetic generator uses
(the `ravdess_root` fixture in tests/conftest.py is made of these)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avtca.data.synthetic.writers import write_video, write_wav


def ramp_clip(seconds: float = 1.0, fps: int = 10, size: int = 32, sr: int = 8000):
    """Frames whose brightness encodes their time (20 * t * fps) and audio whose value encodes time (t / 4)."""
    n = int(round(seconds * fps))
    frames = np.zeros((n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        frames[i] = min(255, 20 * i)
    audio = (np.arange(int(round(seconds * sr))) / sr / 4).astype(np.float32)
    return frames, audio


def write_ravdess_clip(folder: Path, stem: str, modalities=("01", "03"), seconds=1.0, fps=10, sr=8000):
    """Write `MM-<stem>` files for each modality: 01 mp4 with audio, 02 mp4 without, 03 wav."""
    frames, audio = ramp_clip(seconds, fps, sr=sr)
    folder.mkdir(parents=True, exist_ok=True)
    for m in modalities:
        if m == "01":
            write_video(folder / f"01-{stem}.mp4", frames, fps, audio, sr, "mp4")
        elif m == "02":
            write_video(folder / f"02-{stem}.mp4", frames, fps, None, sr, "mp4")
        else:
            write_wav(folder / f"03-{stem}.wav", audio, sr)


def write_ravdess_fixture(root: Path) -> Path:
    """3 actors x 2 emotions x 1 statement of speech, plus song, a video-only pair, and bad files."""
    for actor in (1, 2, 3):
        for emotion in (1, 5):
            write_ravdess_clip(root / f"Actor_{actor:02d}", f"01-{emotion:02d}-01-01-01-{actor:02d}")
    # a recording with only the video-only mp4 and the wav (no 01): video from 02, audio from 03
    write_ravdess_clip(root / "Actor_03", "01-08-02-02-01-03", modalities=("02", "03"))
    # song: only used with vocal_channel song/both
    write_ravdess_clip(root / "Actor_01", "02-03-01-01-01-01")
    (root / "Actor_02" / "notes.txt").write_text("not a clip")
    (root / "Actor_02" / "01-01-09-01-01-01-02.mp4").write_bytes(b"x")  # emotion 09 does not exist
    lfs = "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n"
    (root / "Actor_03" / "01-01-03-01-01-01-03.mp4").write_text(lfs)  # stub video, real audio below
    write_wav(root / "Actor_03" / "03-01-03-01-01-01-03.wav", ramp_clip()[1], 8000)
    (root / "Actor_02" / "01-01-04-01-01-01-02.mp4").write_bytes(b"")  # empty video
    write_wav(root / "Actor_02" / "03-01-04-01-01-01-02.wav", ramp_clip()[1], 8000)
    good = (root / "Actor_01" / "01-01-01-01-01-01-01.mp4").read_bytes()
    (root / "Actor_01" / "01-01-06-01-01-01-01.mp4").write_bytes(good[: len(good) // 3])  # truncated
    write_wav(root / "Actor_01" / "03-01-06-01-01-01-01.wav", ramp_clip()[1], 8000)
    return root


def small_cfg(**kw):
    """DataConfig with tiny preprocessing for these clips (1 s windows at 8 kHz)."""
    from avtca.data import DataConfig

    base = dict(name="ravdess", frames=4, image_size=16, duration=1.0, sample_rate=8000, n_fft=256, hop_length=128)
    return DataConfig(**{**base, **kw})
