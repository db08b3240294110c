"""Audio features with torchaudio: MFCC (the paper's 10 coefficients) or log-mel."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torchaudio.transforms as T

from avtca.data.config import DataConfig

MFCC_MELS = 128  # torchaudio's default mel bank under the MFCCs


@lru_cache(maxsize=8)
def _transform(kind: str, sample_rate: int, n: int, n_fft: int, hop: int) -> torch.nn.Module:
    if kind == "mfcc":
        mels = max(min(MFCC_MELS, n_fft // 8), n)  # 128 at the default n_fft; fewer for tiny FFTs
        return T.MFCC(sample_rate, n_mfcc=n, melkwargs={"n_fft": n_fft, "hop_length": hop, "n_mels": mels})
    return T.MelSpectrogram(sample_rate, n_fft=n_fft, hop_length=hop, n_mels=n)


def audio_features(signal: np.ndarray, cfg: DataConfig) -> np.ndarray:
    """(n_samples,) float32 -> (C, L) float32, C = n_mfcc or n_mels, L = cfg.audio_length."""
    n = cfg.n_mfcc if cfg.audio_features == "mfcc" else cfg.n_mels
    transform = _transform(cfg.audio_features, cfg.sample_rate, n, cfg.n_fft, cfg.hop_length)
    with torch.no_grad():
        out = transform(torch.from_numpy(np.ascontiguousarray(signal, dtype=np.float32)))
    if cfg.audio_features == "logmel":
        out = torch.log(out + 1e-6)
    return out.numpy().astype(np.float32)
