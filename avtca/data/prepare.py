"""Decode, crop, resize and featurise every clip once into the cache (`python -m avtca.data.prepare`)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from filelock import FileLock
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from avtca.config.base import ConfigError, validate
from avtca.data.cache import (
    Prepared,
    atomic_save_npz,
    cache_dir,
    cache_problem,
    load_cache,
    lock_path,
    shard_dir,
    sweep_leftovers,
    write_cache,
)
from avtca.data.config import DataConfig
from avtca.data.crop import CROPS, crop_resize
from avtca.data.features import audio_features
from avtca.data.media import MediaError, clip_window, frame_times, read_audio, read_frames, video_span
from avtca.data.parallel import release_workers
from avtca.data.registry import DATASETS
from avtca.data.sources import Clip, Scan

log = logging.getLogger("avtca.data")


class PrepareError(RuntimeError):
    """Preparation cannot produce a cache (no usable clip, unwritable cache); the message says what to fix."""


def dataset_root(cfg: DataConfig, progress: bool = True) -> Path:
    """The directory the adapter reads: the given root, or the generated synthetic dataset."""
    if cfg.is_synthetic:
        from avtca.data.synthetic import ensure_synthetic

        return ensure_synthetic(cfg, progress=progress)
    return Path(cfg.root)


def scan_source(cfg: DataConfig, root: Path) -> Scan:
    """Run the dataset's adapter over `root`."""
    scan = DATASETS.get(cfg.name).scan
    if scan is None:
        raise ValueError(f"{cfg.name} has no per-clip media to scan")
    return scan(root, cfg)


def load_window(clip: Clip, cfg: DataConfig) -> tuple[np.ndarray, np.ndarray, float]:
    """Decoded window of a clip: frames (T, H, W, 3) uint8, mono audio (n,) float32, window start in s.

    The start is measured from the video's first frame; audio and video cover the same span.
    """
    t0, seconds = video_span(clip.video)
    start = clip_window(seconds, cfg.duration)
    frames = read_frames(clip.video, t0 + frame_times(start, cfg.duration, cfg.frames))
    # the video's own track lives on the container timeline; a separate file's sample 0 is the first frame
    audio_start = t0 + start if clip.audio == clip.video else start
    signal = read_audio(clip.audio, cfg.sample_rate, audio_start, cfg.duration)
    return frames, signal, start


def process_clip(clip: Clip, cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """One clip -> (audio features (C, L) float32, frames (T, 3, S, S) uint8), both over the same window."""
    frames, signal, _ = load_window(clip, cfg)
    box = CROPS.build(cfg.crop)(frames)
    return audio_features(signal, cfg), crop_resize(frames, box, cfg.image_size)


def _shard_name(clip_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", clip_id)


def _work(clip: Clip, cfg: DataConfig, shards: Path, worker: bool = True) -> tuple[str, str | None]:
    """Worker: write the clip's shard, or return the reason it was skipped (never raises on bad media)."""
    if worker:
        import torch

        torch.set_num_threads(1)  # one clip per core; torch's own threads only contend
    try:
        audio, video = process_clip(clip, cfg)
    except MediaError as err:
        return clip.id, str(err)
    except Exception as err:  # noqa: BLE001 - a run over thousands of clips must not die on one file
        return clip.id, f"{type(err).__name__}: {err}"
    atomic_save_npz(shards / f"{_shard_name(clip.id)}.npz", audio=audio, video=video)
    return clip.id, None


def _in_process(todo: list[Clip], cfg: DataConfig, shards: Path):
    """Sequential preparation in this process, with torch on one thread meanwhile (MFCC is ~5x faster)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for clip in todo:
            yield _work(clip, cfg, shards, worker=False)
    finally:
        torch.set_num_threads(threads)


def _load_shard(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        with np.load(path) as z:
            return z["audio"], z["video"]
    except (OSError, ValueError, KeyError, EOFError):
        return None  # torn or foreign shard: recompute the clip


def _prepare_media(cfg: DataConfig, root: Path, progress: bool) -> Path:
    scan = scan_source(cfg, root)
    shards = shard_dir(cfg)
    shards.mkdir(parents=True, exist_ok=True)
    try:
        return _prepare_shards(cfg, root, scan, shards, progress)
    finally:
        _remove_if_empty(shards)  # a failure before the first shard leaves no empty folder; shards stay to resume


def _prepare_shards(cfg: DataConfig, root: Path, scan: Scan, shards: Path, progress: bool) -> Path:
    """Decode the clips missing from `shards`, then consolidate every shard into the cache."""
    skipped: dict[str, str] = {}
    todo = [c for c in scan.clips if _load_shard(shards / f"{_shard_name(c.id)}.npz") is None]
    resumed = len(scan.clips) - len(todo)
    bar = tqdm(total=len(scan.clips), initial=resumed, desc=f"prepare {cfg.name}", unit="clip", disable=not progress)
    if cfg.n_jobs == 1:
        results = _in_process(todo, cfg, shards)
    else:
        results = Parallel(n_jobs=cfg.n_jobs, return_as="generator_unordered")(
            delayed(_work)(c, cfg, shards) for c in todo
        )
    try:
        for clip_id, reason in results:
            if reason is not None:
                skipped[clip_id] = reason
                log.warning("skipped %s: %s", clip_id, reason)
            bar.update(1)
    finally:
        bar.close()
        if cfg.n_jobs != 1:
            release_workers()
    kept = [c for c in scan.clips if c.id not in skipped]
    if not kept:
        raise PrepareError(no_clips_message(cfg, root, scan, skipped))
    first = _load_shard(shards / f"{_shard_name(kept[0].id)}.npz")
    # fill preallocated arrays shard by shard: peak memory is one copy of the dataset, not two
    audio = np.empty((len(kept), *first[0].shape), dtype=first[0].dtype)
    video = np.empty((len(kept), *first[1].shape), dtype=first[1].dtype)
    loaded: list[Clip] = []
    for c in kept:
        got = _load_shard(shards / f"{_shard_name(c.id)}.npz")
        if got is None:
            skipped[c.id] = "shard vanished during preparation"
            continue
        audio[len(loaded)], video[len(loaded)] = got
        loaded.append(c)
    arrays = {
        "audio": audio[: len(loaded)],
        "video": video[: len(loaded)],
        "target": np.array([c.label for c in loaded], dtype=np.int64),
    }
    extra = DATASETS.get(cfg.name).clip_arrays
    if extra is not None:
        arrays.update(extra(loaded))
    manifest = {
        "dataset": cfg.name,
        "root": str(root),
        "ids": [c.id for c in loaded],
        "actors": [c.actor for c in loaded],
        "skipped": [{"id": k, "reason": v} for k, v in sorted(skipped.items())],
        "problems": [{"path": p, "reason": r} for p, r in scan.problems],
        "resumed": resumed,
    }
    final = write_cache(cfg, arrays, manifest)
    shutil.rmtree(shards, ignore_errors=True)
    return final


def no_clips_message(cfg: DataConfig, root: Path, scan: Scan, skipped: dict[str, str]) -> str:
    """Why nothing under `root` is usable: the naming rule when no file matched, else the first decoding errors."""
    if not scan.clips:
        lines = [f"no {cfg.name} clips found under {root}: {len(scan.problems)} file(s) not used"]
        lines += [f"  {path}: {reason}" for path, reason in scan.problems[:5]]
        if not scan.problems:
            lines.append("  (the folder holds no media files; check --root)")
        return "\n".join(lines)
    lines = [f"no usable {cfg.name} clips under {root}: all {len(skipped)} failed to decode (corrupt or empty files?)"]
    lines += [f"  {cid}: {reason}" for cid, reason in list(skipped.items())[:5]]
    return "\n".join(lines)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()  # only succeeds when empty: finished shards of a partial run are kept for the resume
    except OSError:
        pass


def summary(prepared: Prepared) -> str:
    """Human-readable end summary: clips done, skipped and why, unrecognised files."""
    m = prepared.manifest
    lines = [f"{m['dataset']}: {len(m['ids'])} clips ready in {m.get('cache_dir', '')}"]
    reasons = Counter(s["reason"].split(":")[0] for s in m.get("skipped", []))
    lines.append(f"  skipped {len(m.get('skipped', []))}" + "".join(f"\n    {n} x {r}" for r, n in reasons.items()))
    problems = m.get("problems", [])
    lines.append(f"  not used (unrecognised / unpaired): {len(problems)}")
    lines += [f"    {p['path']}: {p['reason']}" for p in problems[:20]]
    if len(problems) > 20:
        lines.append(f"    ... {len(problems) - 20} more in manifest.json")
    return "\n".join(lines)


def ensure_prepared(cfg: DataConfig, progress: bool = True) -> Prepared:
    """Load the cache for `cfg`, preparing it first (once across processes, under a file lock) when missing."""
    cached = load_cache(cfg)
    if cached is not None:
        return cached
    lock_path(cfg).parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock_path(cfg))):
        cached = load_cache(cfg)  # another worker may have finished while we waited
        if cached is not None:
            return cached
        sweep_leftovers(cfg)
        root = dataset_root(cfg, progress)
        t0 = time.time()
        load = DATASETS.get(cfg.name).load
        if load is not None:  # pre-extracted features: no media to decode
            arrays, manifest = load(root, cfg)
            final = write_cache(cfg, arrays, manifest)
        else:
            final = _prepare_media(cfg, root, progress)
        manifest_path = final / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest.update(cache_dir=str(final), seconds=round(time.time() - t0, 2), prepared_by=os.getpid())
        manifest_path.write_text(json.dumps(manifest, indent=1))
        # audit trail: one line per preparation actually run (cache hits add nothing)
        entry = {"key": final.name, "pid": os.getpid(), "time": time.time(), "clips": len(manifest["ids"]),
                 "skipped": len(manifest.get("skipped", []))}  # fmt: skip
        with (Path(cfg.cache) / "prepare-log.jsonl").open("a") as fh:
            fh.write(json.dumps(entry) + "\n")
    prepared = load_cache(cfg)
    if prepared is None:
        raise PrepareError(f"cache {cache_dir(cfg)} was written but does not verify: {cache_problem(cfg)}")
    if progress:
        print(summary(prepared), file=sys.stderr)
    return prepared


def main(argv: list[str] | None = None) -> int:
    """CLI: prepare a dataset's cache; extra `key=value` pairs set other DataConfig fields."""
    p = argparse.ArgumentParser(prog="python -m avtca.data.prepare", description=__doc__)
    p.add_argument("--dataset", required=True, choices=DATASETS.names())
    p.add_argument("--root", required=True, help="dataset directory, or 'synthetic'")
    p.add_argument("--cache", default=None, help="cache directory (default: $AVTCA_CACHE or .cache/avtca)")
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument("set", nargs="*", metavar="key=value", help="other DataConfig fields, e.g. frames=8 crop.kind=face")
    args = p.parse_args(argv)
    from avtca.config.base import apply_overrides

    raw = {"name": args.dataset, "root": args.root, "n_jobs": args.n_jobs}
    if args.cache:
        raw["cache"] = args.cache
    try:
        cfg = validate(DataConfig, apply_overrides(raw, args.set), "command line")
        ensure_prepared(cfg)
    except (ConfigError, ValueError, PrepareError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # unwritable or full cache folder: say which path, not a traceback
        print(f"error: cannot write the cache: {err.strerror or err}: {err.filename or cfg.cache}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    sys.exit(main())
