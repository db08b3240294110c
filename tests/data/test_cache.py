"""The preprocessing cache: hit, miss, invalidation, interrupted-write recovery, one preparation across processes."""

from __future__ import annotations

import json
import multiprocessing as mp

import numpy as np
import pytest

from avtca.data import build_splits
from avtca.data.cache import cache_dir, cache_key, load_cache, shard_dir
from avtca.data.prepare import _shard_name, _work, ensure_prepared, scan_source
from tests.clips import small_cfg


def _log(cache) -> list[dict]:
    path = cache / "prepare-log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_hit_miss_and_what_the_key_depends_on(ravdess_root, tmp_path):
    cfg = small_cfg(root=str(ravdess_root), cache=str(tmp_path))
    build_splits(cfg, progress=False)
    build_splits(cfg, fold=1, progress=False)
    build_splits(small_cfg(root=str(ravdess_root), cache=str(tmp_path), protocol="random"), progress=False)
    assert len(_log(tmp_path)) == 1  # protocol and fold do not change the prepared tensors
    other = small_cfg(root=str(ravdess_root), cache=str(tmp_path), frames=2)
    assert cache_key(other) != cache_key(cfg)
    s = build_splits(other, progress=False)
    assert len(_log(tmp_path)) == 2 and s.train[0]["video"].shape[0] == 2
    assert cache_key(small_cfg(root=str(ravdess_root), cache="/elsewhere", n_jobs=2)) == cache_key(cfg)
    assert cache_key(small_cfg(root=str(ravdess_root), crop={"kind": "none"})) != cache_key(cfg)


def test_partial_or_foreign_caches_are_never_trusted(ravdess_root, tmp_path):
    cfg = small_cfg(root=str(ravdess_root), cache=str(tmp_path))
    first = ensure_prepared(cfg, progress=False)
    final = cache_dir(cfg)
    # a truncated array
    data = (final / "video.npy").read_bytes()
    (final / "video.npy").write_bytes(data[: len(data) // 2])
    assert load_cache(cfg) is None
    again = ensure_prepared(cfg, progress=False)
    np.testing.assert_array_equal(again.video, first.video)
    # a manifest written for another config
    manifest = json.loads((final / "manifest.json").read_text())
    manifest["key_fields"]["frames"] = 99
    (final / "manifest.json").write_text(json.dumps(manifest))
    assert load_cache(cfg) is None
    ensure_prepared(cfg, progress=False)
    assert len(_log(tmp_path)) == 3


def test_interrupted_preparation_resumes_from_shards(ravdess_root, tmp_path):
    cfg = small_cfg(root=str(ravdess_root), cache=str(tmp_path / "a"))
    clips = scan_source(cfg, ravdess_root).clips
    shards = shard_dir(cfg)
    shards.mkdir(parents=True)
    for clip in clips[:3]:  # what a killed run had finished
        assert _work(clip, cfg, shards, worker=False) == (clip.id, None)
    (shards / f"{_shard_name(clips[3].id)}.npz").write_bytes(b"torn write")
    leftover = cache_dir(cfg).with_name(cache_dir(cfg).name + ".tmp-12345")
    leftover.mkdir()
    (leftover / "audio.npy").write_bytes(b"half")
    resumed = ensure_prepared(cfg, progress=False)
    assert resumed.manifest["resumed"] == 3
    assert not shards.exists()
    fresh = ensure_prepared(small_cfg(root=str(ravdess_root), cache=str(tmp_path / "b")), progress=False)
    assert resumed.ids == fresh.ids
    np.testing.assert_array_equal(resumed.video, fresh.video)
    np.testing.assert_allclose(resumed.audio, fresh.audio, rtol=1e-6)
    assert not leftover.exists()  # a dead writer's temp copy is swept under the lock


def _prepare_in_child(root: str, cache: str, queue) -> None:
    cfg = small_cfg(root=root, cache=cache, n_jobs=2)  # whichever child prepares fans out over joblib workers
    prepared = ensure_prepared(cfg, progress=False)
    queue.put(len(prepared.ids))


@pytest.mark.slow
def test_parallel_workers_prepare_once(ravdess_root, tmp_path):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_prepare_in_child, args=(str(ravdess_root), str(tmp_path), queue)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    assert [queue.get(), queue.get()] == [7, 7]
    assert len(_log(tmp_path)) == 1
    reference = ensure_prepared(small_cfg(root=str(ravdess_root), cache=str(tmp_path / "seq")), progress=False)
    parallel = load_cache(small_cfg(root=str(ravdess_root), cache=str(tmp_path)))
    assert parallel.ids == reference.ids  # joblib workers give the same arrays in the same clip order
    np.testing.assert_array_equal(parallel.video, reference.video)
