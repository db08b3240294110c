"""Emotion-bearing faces and voices: each modality carries two of three emotion cues, so fusion is needed.

Every emotion is a triple of binary cues (tempo, valence, arousal-of-the-brows):
- audio carries tempo (syllable rate) and valence (spectral brightness), and nothing of the brows;
- video carries valence (mouth curve) and brows (raised brows, wide eyes), and nothing of the tempo: the
  mouth opens and closes at one rhythm and the head bobs alike for every emotion.
Audio alone therefore cannot tell apart pairs that differ only in the brow cue, video alone pairs that
differ only in tempo: on a clean clip each modality alone is capped at 50 % (4 of 8 cue groups), both
together can reach 100 %. Clips whose audio is noise or whose face is occluded need the other modality.
(Design 2; design 1 also leaked a weak brow cue into the voice and a weak tempo cue into the head bob,
which let single-modality models beat that cap and blurred the comparison with the full model.)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.signal import lfilter

# (tempo, valence, brows) per emotion, in each dataset's class order
RAVDESS_CUES = {
    "neutral": (0, 0, 0), "calm": (0, 1, 0), "happy": (1, 1, 0), "sad": (0, 0, 1),
    "angry": (1, 0, 0), "fearful": (1, 0, 1), "disgust": (0, 1, 1), "surprised": (1, 1, 1),
}  # fmt: skip
CREMAD_CUES = {
    "ANG": (1, 0, 0), "DIS": (0, 1, 1), "FEA": (1, 0, 1), "HAP": (1, 1, 0), "NEU": (0, 0, 0), "SAD": (0, 0, 1),
}  # fmt: skip


@dataclass(frozen=True)
class Actor:
    """Per-actor variation: voice, face geometry and colours."""

    f0: float
    rate: float
    gain: float
    face_dx: float
    face_dy: float
    face_scale: float
    skin: tuple[int, int, int]
    background: tuple[int, int, int]


def make_actor(index: int, seed: int) -> Actor:
    """Actor `index` (1-based; odd = male, lower voice, as in RAVDESS)."""
    rng = np.random.default_rng([seed, 7919, index])
    male = index % 2 == 1
    return Actor(
        f0=float(rng.uniform(95, 135) if male else rng.uniform(170, 230)),
        rate=float(rng.uniform(0.85, 1.15)),
        gain=float(rng.uniform(0.12, 0.3)),
        face_dx=float(rng.uniform(-0.03, 0.03)),
        face_dy=float(rng.uniform(-0.03, 0.03)),
        face_scale=float(rng.uniform(0.9, 1.08)),
        # skin-like tones and greyish backgrounds: nuisance variation a small CNN can generalise across
        skin=tuple(int(min(255, c * rng.uniform(0.6, 1.1))) for c in (224, 172, 140)),
        background=tuple(int(v) for v in rng.integers(30, 100) + rng.integers(-15, 16, size=3)),
    )


def syllable_envelope(t: np.ndarray, rate: float, actor: Actor, statement: int, seconds: float) -> np.ndarray:
    """Activity in [0, 1] over t: raised-cosine syllables at `rate` per second (times the actor's), silent edges."""
    rate = rate * actor.rate
    rng = np.random.default_rng([statement, 31])  # the statement fixes the rhythm pattern, not the emotion
    env = np.zeros_like(t)
    start, stop = 0.12 * seconds, 0.9 * seconds
    pos = start
    while pos < stop:
        length = (0.55 + 0.5 * rng.random()) / rate
        inside = (t >= pos) & (t < pos + length)
        env[inside] = np.maximum(env[inside], np.sin(np.pi * (t[inside] - pos) / length) ** 2)
        pos += length * (1.0 + 0.25 * rng.random())
    return env


def voice(cues: tuple[int, int, int], actor: Actor, statement: int, seconds: float, sr: int,
          rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """Mono float32 voiced speech-like signal in [-1, 1]."""
    tempo, valence, _ = cues
    t = np.arange(int(round(seconds * sr))) / sr
    env = syllable_envelope(t, 5.0 if tempo else 2.5, actor, statement, seconds)
    # no brow cue in the voice (design 2): pitch and level depend on the actor only
    f0 = actor.f0 * (1 + 0.06 * np.sin(2 * np.pi * 0.8 * t + rng.uniform(0, 6.28)))
    cycles = np.cumsum(f0) / sr  # glottal cycles elapsed
    tilt = 0.7 if valence else 1.9  # bright (flat spectrum) vs dark (steep roll-off) voice
    # one period as a wavetable of band-limited harmonics (up to 4 kHz), read at the time-varying pitch
    grid = np.arange(2048) * (2 * np.pi / 2048)
    table = sum(np.sin(k * grid) / k**tilt for k in range(1, int(4000 // actor.f0) + 1))
    sig = table[(np.mod(cycles, 1.0) * 2048).astype(np.int64)]
    sig /= np.max(np.abs(sig)) + 1e-9
    sig = sig * env * actor.gain
    sig += rng.normal(0, 0.004, size=sig.shape)  # room noise
    return np.clip(sig, -1, 1).astype(np.float32)


def noise_audio(seconds: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """The corrupted-audio replacement: coloured noise at a random level, carrying no emotion."""
    n = int(round(seconds * sr))
    white = rng.normal(0, 1, size=n)
    colour = rng.uniform(0, 0.98)
    out = lfilter([1 - colour], [1, -colour], white)  # one-pole low-pass: white to brown-ish noise
    out = out / (np.std(out) + 1e-9) * rng.uniform(0.02, 0.15)
    return np.clip(out, -1, 1).astype(np.float32)


def face_frames(cues: tuple[int, int, int], actor: Actor, statement: int, seconds: float, fps: int, size: int,
                rng: np.random.Generator, occlusion: str | None = None) -> np.ndarray:  # fmt: skip
    """(N, size, size, 3) uint8 RGB frames of a talking cartoon face; `occlusion` in None, 'blank', 'box'."""
    _, valence, brows = cues
    n = int(round(seconds * fps))
    t = (np.arange(n) + 0.5) / fps
    # the mouth moves at one rhythm for every emotion: lip motion must not reveal the audio's tempo cue
    env = syllable_envelope(t, 3.5, actor, statement, seconds)
    s = float(size)
    cx, cy = s * (0.5 + actor.face_dx), s * (0.5 + actor.face_dy)
    rx, ry = 0.3 * s * actor.face_scale, 0.4 * s * actor.face_scale
    bob = 0.016 * s  # the same head bob for every emotion (design 2): no tempo cue in the video
    frames = np.empty((n, size, size, 3), dtype=np.uint8)
    if occlusion == "blank":
        level = int(rng.integers(40, 200))
        frames[:] = level
        frames += rng.integers(0, 12, size=frames.shape, dtype=np.uint8)
        return frames
    box_colour = tuple(int(v) for v in rng.integers(0, 255, size=3))
    sh = 16  # fixed-point shift for sub-pixel, anti-aliased drawing
    for i in range(n):
        img = np.empty((size, size, 3), dtype=np.uint8)
        img[:] = actor.background
        dy = bob * np.sin(2 * np.pi * 1.0 * t[i] + statement)
        fy = cy + dy

        def p(x: float, y: float) -> tuple[int, int]:
            return int(x * sh), int(y * sh)

        cv2.ellipse(img, p(cx, fy), p(rx, ry), 0, 0, 360, actor.skin, -1, cv2.LINE_AA, 4)
        eye_h = (0.07 if brows else 0.018) * s
        brow_y = fy - (0.27 if brows else 0.14) * s
        for side in (-1, 1):
            ex = cx + side * 0.12 * s
            cv2.ellipse(img, p(ex, fy - 0.08 * s), p(0.065 * s, eye_h), 0, 0, 360, (245, 245, 245), -1, cv2.LINE_AA, 4)
            cv2.circle(img, p(ex, fy - 0.08 * s), int(min(eye_h, 0.04 * s) * sh), (20, 20, 20), -1, cv2.LINE_AA, 4)
            tilt = (-0.03 if brows else 0.02) * s * side
            cv2.line(img, p(ex - 0.07 * s, brow_y + tilt), p(ex + 0.07 * s, brow_y - tilt), (40, 30, 20),
                     max(1, int(0.05 * s)), cv2.LINE_AA, 4)  # fmt: skip
        curve = (0.1 if valence else -0.09) * s  # smile bends the corners up
        open_ = env[i] * 0.07 * s
        xs = np.linspace(-0.13 * s, 0.13 * s, 13)
        base = fy + 0.2 * s + curve * (xs / (0.13 * s)) ** 2 * -1
        upper = [p(cx + x, y) for x, y in zip(xs, base - curve * 0.3, strict=True)]
        lower = [p(cx + x, y + open_ * (1 - (x / (0.13 * s)) ** 2) + 0.02 * s) for x, y in zip(xs, base, strict=True)]
        poly = np.array(upper + lower[::-1], dtype=np.int32)
        cv2.fillPoly(img, [poly], (90, 10, 20), cv2.LINE_AA, 4)
        if occlusion == "box":
            cv2.rectangle(img, p(cx - rx, fy - 0.3 * s), p(cx + rx, fy + 0.32 * s), box_colour, -1, cv2.LINE_8, 4)
        frames[i] = img
    noise = rng.integers(0, 6, size=frames.shape, dtype=np.uint8)
    return np.minimum(frames.astype(np.int16) + noise, 255).astype(np.uint8)


def corruption(rng: np.random.Generator, p_audio: float, p_video: float) -> str | None:
    """Which modality a clip loses: 'audio', 'video' or None (mutually exclusive)."""
    u = rng.random()
    if u < p_audio:
        return "audio"
    if u < p_audio + p_video:
        return "video"
    return None
