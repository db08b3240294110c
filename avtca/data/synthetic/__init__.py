"""Generated datasets in the real on-disk formats (RAVDESS, CREMA-D, CMU-MOSEI pickle), cached and locked."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
from filelock import FileLock
from scipy.signal import resample_poly
from tqdm.auto import tqdm

from avtca.data.config import DataConfig, SyntheticOptions
from avtca.data.parallel import release_workers
from avtca.data.synthetic.render import (
    CREMAD_CUES,
    RAVDESS_CUES,
    corruption,
    face_frames,
    make_actor,
    noise_audio,
    voice,
)
from avtca.data.synthetic.writers import write_video, write_wav

log = logging.getLogger("avtca.data")
FPS = 30
RAVDESS_SR, CREMAD_SR, MP4_TRACK_SR = 48000, 16000, 16000
CREMAD_SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")


def _clip(cues, actor_idx: int, statement: int, opts: SyntheticOptions, sr: int, key: list[int]):
    """(frames, audio, corrupted modality) of one clip; deterministic in (seed, key)."""
    rng = np.random.default_rng([opts.seed, *key])
    actor = make_actor(actor_idx, opts.seed)
    lost = corruption(rng, opts.corrupt_audio, opts.corrupt_video)
    if lost == "audio":
        audio = noise_audio(opts.seconds, sr, rng)
    else:
        audio = voice(cues, actor, statement, opts.seconds, sr, rng)
    occlusion = str(rng.choice(["blank", "box"])) if lost == "video" else None
    frames = face_frames(cues, actor, statement, opts.seconds, FPS, opts.size, rng, occlusion)
    return frames, audio, lost


def _ravdess_clip(out: Path, opts: SyntheticOptions, a: int, e: int, s: int, r: int) -> tuple[str, str | None]:
    """Write one RAVDESS recording (mp4 + wav); returns (stem, corrupted modality). Runs in a worker process."""
    folder = out / f"Actor_{a:02d}"
    folder.mkdir(parents=True, exist_ok=True)
    frames, audio, lost = _clip(list(RAVDESS_CUES.values())[e - 1], a, s, opts, RAVDESS_SR, [a, e, s, r])
    stem = f"01-{e:02d}-01-{s:02d}-{r:02d}-{a:02d}"
    # the mp4's AAC track is written at 16 kHz (AAC at 48 kHz triples generation time); the wav is 48 kHz
    track = resample_poly(audio, 1, RAVDESS_SR // MP4_TRACK_SR).astype(np.float32)
    write_video(folder / f"01-{stem}.mp4", frames, FPS, track, MP4_TRACK_SR, "mp4")
    write_wav(folder / f"03-{stem}.wav", audio, RAVDESS_SR)
    return stem, lost


def _run_jobs(fn, jobs: list[tuple], n_jobs: int, desc: str, progress: bool) -> list:
    """fn(*job) for every job, on `n_jobs` joblib processes (1: in this process); each clip is seeded by its
    own key, so the output does not depend on n_jobs or on the order the workers finish."""
    bar = tqdm(total=len(jobs), desc=desc, unit="clip", disable=not progress)
    results = []
    if n_jobs == 1:
        for job in jobs:
            results.append(fn(*job))
            bar.update(1)
    else:
        from joblib import Parallel, delayed

        try:
            for item in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(delayed(fn)(*j) for j in jobs):
                results.append(item)
                bar.update(1)
        finally:
            release_workers()
    bar.close()
    return results


def generate_ravdess(out: Path, opts: SyntheticOptions, progress: bool = True, n_jobs: int = 1) -> dict:
    """`Actor_XX/01-01-EE-01-SS-RR-XX.mp4` (video + audio track) and the matching `03-...wav`."""
    jobs = [
        (out, opts, a, e, s, r)
        for a in range(1, opts.actors + 1)
        for e in range(1, 9)
        for s in range(1, opts.statements + 1)
        for r in range(1, opts.repetitions + 1)
    ]
    return dict(sorted(_run_jobs(_ravdess_clip, jobs, n_jobs, "synthetic ravdess", progress)))


def generate_cremad(out: Path, opts: SyntheticOptions, progress: bool = True) -> dict:
    """`VideoFlash/<id>.flv` + `AudioWAV/<id>.wav` (16 kHz), ids `1001_IEO_ANG_XX`, plus tabulatedVotes.csv."""
    (out / "VideoFlash").mkdir(parents=True, exist_ok=True)
    (out / "AudioWAV").mkdir(parents=True, exist_ok=True)
    (out / "processedResults").mkdir(parents=True, exist_ok=True)
    codes = list(CREMAD_CUES)
    jobs = [(a, e, s) for a in range(1, opts.actors + 1) for e in range(6) for s in range(opts.statements)]
    lost_log, votes = {}, []
    for a, e, s in tqdm(jobs, desc="synthetic cremad", unit="clip", disable=not progress):
        clip_id = f"{1000 + a}_{CREMAD_SENTENCES[s]}_{codes[e]}_XX"
        frames, audio, lost = _clip(CREMAD_CUES[codes[e]], a, s + 1, opts, CREMAD_SR, [a, e, s])
        write_video(out / "VideoFlash" / f"{clip_id}.flv", frames, FPS, audio, CREMAD_SR, "flv")
        write_wav(out / "AudioWAV" / f"{clip_id}.wav", audio, CREMAD_SR)
        lost_log[clip_id] = lost
        # raters mostly agree with the intended emotion; a few clips get another majority or a tie
        rng = np.random.default_rng([opts.seed, 99, a, e, s])
        counts = np.zeros(6, dtype=int)
        counts[e] += 6
        counts[rng.integers(0, 6)] += int(rng.integers(0, 8))
        top = np.flatnonzero(counts == counts.max())
        vote = ":".join("ADFHNS"[i] for i in top)
        votes.append((f"3{len(votes) + 1:05d}", *counts.tolist(), clip_id, int(counts.sum()), vote))
    header = '"","A","D","F","H","N","S","fileName","numResponses","agreement","emoVote"\n'
    lines = [f'"{rid}",{a},{d},{f},{h},{n},{s},"{cid}",{tot},{max(a, d, f, h, n, s) / tot:.4f},"{v}"'
             for rid, a, d, f, h, n, s, cid, tot, v in votes]  # fmt: skip
    (out / "processedResults" / "tabulatedVotes.csv").write_text(header + "\n".join(lines) + "\n")
    return lost_log


def generate(fmt: str, out: str | Path, opts: SyntheticOptions, progress: bool = True, n_jobs: int = 1) -> Path:
    """Write a synthetic dataset of format `fmt` (ravdess, cremad, mosei) into `out` (RAVDESS on n_jobs processes)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "ravdess":
        lost = generate_ravdess(out, opts, progress, n_jobs)
    elif fmt == "cremad":
        lost = generate_cremad(out, opts, progress)
    elif fmt == "mosei":
        from avtca.data.synthetic.mosei_pickle import generate_mosei

        lost = generate_mosei(out, opts)
    else:
        raise ValueError(f"unknown synthetic format '{fmt}' (ravdess, cremad, mosei)")
    # ground truth of the corruption, for analyses only; adapters never read it
    (out / "SYNTHETIC.json").write_text(json.dumps({"options": opts.model_dump(), "corrupted": lost}, indent=1))
    return out


def synthetic_dir(cfg: DataConfig) -> Path:
    """Where the synthetic dataset for `cfg` lives: `<cache>/synthetic/<name>-<hash of the options and design>`."""
    from avtca.data.cache import SYNTHETIC_DESIGN

    text = json.dumps({"name": cfg.name, "design": SYNTHETIC_DESIGN, **cfg.synthetic.model_dump()}, sort_keys=True)
    return Path(cfg.cache) / "synthetic" / f"{cfg.name}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


CHECKSUMS = "SHA256SUMS.json"  # relative path -> sha256 of every generated file, written last


def write_checksums(root: Path) -> None:
    """Record the sha256 of every file under `root` (the generated dataset's integrity reference)."""
    from avtca.data.cache import file_sha256

    sums = {p.relative_to(root).as_posix(): file_sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}
    (root / CHECKSUMS).write_text(json.dumps(sums, indent=0))


def synthetic_problem(root: Path) -> str | None:
    """Why the generated dataset at `root` cannot be trusted (missing checksums, a changed or missing file), or None."""
    from avtca.data.cache import file_sha256

    try:
        sums = json.loads((root / CHECKSUMS).read_text())
    except (OSError, ValueError):
        return f"{root / CHECKSUMS} is missing or unreadable"
    for rel, expected in sums.items():
        try:
            if file_sha256(root / rel) != expected:
                return f"{root / rel} does not match its checksum"
        except OSError:
            return f"{root / rel} is missing"
    return None


def ensure_synthetic(cfg: DataConfig, progress: bool = True) -> Path:
    """Generate the synthetic dataset once (file-locked, written to a temp dir then renamed) and return its root.

    An existing dataset is verified against its checksums (it is only read when a cache is prepared) and
    generated again when damaged; temp folders of interrupted generations are removed.
    """
    from avtca.data.cache import LOCKS, sweep_legacy_lock, sweep_temporaries

    final = synthetic_dir(cfg)
    lock = final.parent / LOCKS / f"{final.name}.lock"  # in the hidden folder, never deleted (see cache.lock_path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock)):
        sweep_temporaries(final)
        sweep_legacy_lock(final.with_name(f"{final.name}.lock"))
        if final.is_dir():
            problem = synthetic_problem(final)
            if problem is None:
                return final
            log.warning("synthetic dataset %s is damaged (%s); generating it again", final, problem)
            shutil.rmtree(final)
        tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
        try:
            shutil.rmtree(tmp, ignore_errors=True)
            generate(cfg.name, tmp, cfg.synthetic, progress, cfg.n_jobs)
            write_checksums(tmp)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)  # Ctrl-C, SIGTERM, disk full: no multi-MB leftover
            raise
    return final
