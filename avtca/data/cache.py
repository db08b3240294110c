"""The preprocessing cache: keyed by a hash of the preprocessing config, written atomically, verified on load.

Verified means: the key matches, every array has the manifest's shape, and every array file's bytes have the
sha256 recorded when it was written (a flipped block inside `audio.npy` keeps its header and size but would
otherwise train on garbage). A cache that fails is re-prepared.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import logging

import numpy as np

from avtca.data.config import DataConfig

CACHE_VERSION = 1  # bump when the on-disk layout or the preprocessing code changes meaning
# settings that change the prepared tensors of each dataset (protocol, labels choice, task, n_jobs do not)
log = logging.getLogger("avtca.data")
_VIDEO_KEYS = ("frames", "image_size", "audio_features", "sample_rate", "duration", "hop_length", "n_fft", "crop")


def key_fields(cfg: DataConfig) -> dict[str, Any]:
    """Everything the prepared arrays depend on, as plain JSON data."""
    dump = cfg.model_dump(mode="json")
    fields: dict[str, Any] = {"version": CACHE_VERSION, "name": cfg.name}
    fields["root"] = {"synthetic": dump["synthetic"]} if cfg.is_synthetic else str(Path(cfg.root).resolve())
    if cfg.name == "mosei":
        fields["mosei"] = {k: dump["mosei"][k] for k in ("file", "format", "seq_len")}
        return fields
    fields.update({k: dump[k] for k in _VIDEO_KEYS})
    fields["n_audio"] = cfg.n_mfcc if cfg.audio_features == "mfcc" else cfg.n_mels
    if cfg.name == "ravdess":
        fields["ravdess"] = dump["ravdess"]
    return fields


def cache_key(cfg: DataConfig) -> str:
    """16 hex digits of sha256 over the canonical JSON of `key_fields`."""
    text = json.dumps(key_fields(cfg), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_dir(cfg: DataConfig) -> Path:
    """Final directory of the consolidated cache for this config."""
    return Path(cfg.cache) / f"{cfg.name}-{cache_key(cfg)}"


def shard_dir(cfg: DataConfig) -> Path:
    """Per-clip shards of an unfinished preparation (resumed after an interruption)."""
    return Path(cfg.cache) / f"{cfg.name}-{cache_key(cfg)}.partial"


def lock_path(cfg: DataConfig) -> Path:
    """File lock serialising preparation of this config across processes."""
    return Path(cfg.cache) / f"{cfg.name}-{cache_key(cfg)}.lock"


@dataclass
class Prepared:
    """A loaded cache: whole arrays in memory, one row per usable clip."""

    audio: np.ndarray  # (N, C, L) float32
    video: np.ndarray  # (N, T, 3, H, W) uint8, or (N, 35, L) float32 features
    target: np.ndarray  # (N,) int64 | (N,) float32 | (N, 6) float32
    extra: dict[str, np.ndarray]  # other per-clip arrays: CREMA-D `perceived` (N,) int64, MOSEI `emotions` (N, 6)
    ids: list[str]
    actors: list[str]
    splits: list[str] | None  # official split name per clip (MOSEI)
    manifest: dict[str, Any]


def atomic_save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Write an .npz next to `path` and rename it into place (readers never see half a file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, path)


def write_cache(cfg: DataConfig, arrays: dict[str, np.ndarray], manifest: dict[str, Any]) -> Path:
    """Write arrays + manifest into a temp directory, then rename it to the final cache directory."""
    final = cache_dir(cfg)
    tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        shapes, sums = {}, {}
        for name, arr in arrays.items():
            np.save(tmp / f"{name}.npy", arr)
            shapes[name] = list(arr.shape)
            sums[name] = file_sha256(tmp / f"{name}.npy")
        manifest = {**manifest, "key": cache_key(cfg), "key_fields": key_fields(cfg), "shapes": shapes,
                    "sha256": sums}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
        if final.exists():  # an invalid leftover (load_cache refused it); replace it
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # disk full, Ctrl-C: never leave a half-written copy behind
        raise
    return final


def sweep_temporaries(final: Path) -> list[Path]:
    """Remove `<final>.tmp-<pid>` folders left by an interrupted writer; call only while holding final's lock.

    Whoever holds the lock is the only writer of `final`, so every temporary copy of it is a leftover.
    """
    found = sorted(final.parent.glob(f"{final.name}.tmp-*"))
    for path in found:
        shutil.rmtree(path, ignore_errors=True)
    return found


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


# (path, size, mtime_ns, inode) -> digest: a process that loads the same cache for every cell hashes it once
_VERIFIED: dict[tuple, str] = {}


def _digest(path: Path) -> str:
    st = path.stat()
    ident = (str(path), st.st_size, st.st_mtime_ns, st.st_ino)
    if ident not in _VERIFIED:
        _VERIFIED[ident] = file_sha256(path)
    return _VERIFIED[ident]


def cache_problem(cfg: DataConfig) -> str | None:
    """Why the cache for `cfg` cannot be used (missing, stale key, wrong shape, checksum mismatch), or None."""
    final = cache_dir(cfg)
    try:
        manifest = json.loads((final / "manifest.json").read_text())
    except FileNotFoundError:
        return "missing"
    except (OSError, ValueError) as err:
        return f"{final / 'manifest.json'} is unreadable ({err})"
    if manifest.get("key") != cache_key(cfg) or manifest.get("key_fields") != key_fields(cfg):
        return f"{final} was prepared with other settings"
    sums = manifest.get("sha256")
    if not isinstance(sums, dict) or set(sums) != set(manifest.get("shapes", {})):
        return f"{final} has no checksums (written by an older version)"
    for name, expected in sums.items():
        path = final / f"{name}.npy"
        try:
            if _digest(path) != expected:
                return f"{path} does not match its checksum (damaged on disk)"
        except OSError as err:
            return f"{path} is unreadable ({err.strerror or err})"
    return None


def load_cache(cfg: DataConfig) -> Prepared | None:
    """The cache for `cfg` if present and verified (key, checksums, every array shape), else None (logged)."""
    final = cache_dir(cfg)
    problem = cache_problem(cfg)
    if problem is not None:
        if problem != "missing":
            log.warning("preprocessing cache not used, it will be prepared again: %s", problem)
        return None
    try:
        manifest = json.loads((final / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("key") != cache_key(cfg) or manifest.get("key_fields") != key_fields(cfg):
        return None
    arrays: dict[str, np.ndarray] = {}
    try:
        for name, shape in manifest["shapes"].items():
            arr = np.load(final / f"{name}.npy", allow_pickle=False)
            if list(arr.shape) != shape:
                return None
            arrays[name] = arr
    except (OSError, ValueError, KeyError):
        return None
    n = len(manifest["ids"])
    if any(len(a) != n for a in arrays.values()) or "audio" not in arrays or "video" not in arrays:
        return None
    return Prepared(
        audio=arrays["audio"],
        video=arrays["video"],
        target=arrays["target"],
        extra={k: v for k, v in arrays.items() if k not in ("audio", "video", "target")},
        ids=manifest["ids"],
        actors=manifest["actors"],
        splits=manifest.get("splits"),
        manifest=manifest,
    )
