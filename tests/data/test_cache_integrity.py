"""Finding 1 (silent wrong results from a damaged cache) and 11 (synthetic-generation leftovers)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from avtca.data.cache import cache_dir, load_cache
from avtca.data.prepare import ensure_prepared
from avtca.data.prepare import main as prepare_main
from avtca.data.synthetic import CHECKSUMS, ensure_synthetic, synthetic_dir
from tests.clips import small_cfg


def overwrite_middle(path, n_bytes: int) -> None:
    """Overwrite n bytes in the middle of a file with other bytes: header and size stay as they were."""
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + n_bytes] = bytes((b + 1) % 256 for b in data[mid : mid + n_bytes])
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(("array", "n_bytes"), [("audio", 4096), ("video", 65536)])
def test_damaged_cache_array_is_detected_and_prepared_again(ravdess_root, tmp_path, caplog, array, n_bytes):
    cfg = small_cfg(root=str(ravdess_root), cache=str(tmp_path))
    good = ensure_prepared(cfg, progress=False)
    path = cache_dir(cfg) / f"{array}.npy"
    size = path.stat().st_size
    overwrite_middle(path, min(n_bytes, size // 4))
    assert path.stat().st_size == size and np.load(path).shape == getattr(good, array).shape  # looks intact
    with caplog.at_level(logging.WARNING, logger="avtca.data"):
        assert load_cache(cfg) is None
    assert f"{array}.npy does not match its checksum" in caplog.text
    again = ensure_prepared(cfg, progress=False)  # what training does: re-prepared, same data as before
    np.testing.assert_array_equal(again.video, good.video)
    np.testing.assert_array_equal(again.audio, good.audio)
    log = (tmp_path / "prepare-log.jsonl").read_text().splitlines()
    assert len(log) == 2


def test_rerun_of_prepare_repairs_a_damaged_cache(ravdess_root, tmp_path, capsys):
    args = [
        "--dataset",
        "ravdess",
        "--root",
        str(ravdess_root),
        "--cache",
        str(tmp_path),
        "frames=4",
        "image_size=16",
        "duration=1.0",
        "sample_rate=8000",
        "n_fft=256",
        "hop_length=128",
    ]
    assert prepare_main(args) == 0
    cfg = small_cfg(root=str(ravdess_root), cache=str(tmp_path))
    overwrite_middle(cache_dir(cfg) / "audio.npy", 512)
    assert prepare_main(args) == 0
    assert load_cache(cfg) is not None
    assert len((tmp_path / "prepare-log.jsonl").read_text().splitlines()) == 2


def tiny_synthetic(tmp_path):
    from avtca.data import DataConfig

    return DataConfig(
        name="ravdess",
        root="synthetic",
        cache=str(tmp_path),
        synthetic={"actors": 1, "statements": 1, "size": 32, "seconds": 0.5},
    )


@pytest.mark.slow
def test_damaged_synthetic_dataset_is_generated_again(tmp_path, caplog):
    cfg = tiny_synthetic(tmp_path)
    root = ensure_synthetic(cfg, progress=False)
    sums = json.loads((root / CHECKSUMS).read_text())
    wav = next(root.rglob("03-*.wav"))
    assert wav.relative_to(root).as_posix() in sums
    overwrite_middle(wav, 1024)
    with caplog.at_level(logging.WARNING, logger="avtca.data"):
        assert ensure_synthetic(cfg, progress=False) == root
    assert "is damaged" in caplog.text
    assert json.loads((root / CHECKSUMS).read_text()) == sums  # regenerated deterministically, verified


@pytest.mark.slow
def test_interrupted_generation_leaves_no_temp_folder(tmp_path, monkeypatch):
    import avtca.data.synthetic as synthetic

    cfg = tiny_synthetic(tmp_path)
    final = synthetic_dir(cfg)
    real = synthetic.write_wav
    calls = []

    def interrupted(*args, **kw):
        real(*args, **kw)
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C / SIGTERM mid-generation

    monkeypatch.setattr(synthetic, "write_wav", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ensure_synthetic(cfg, progress=False)
    assert visible(final.parent) == []  # no temp copy, no lock file (that one stays in the hidden .locks/)
    monkeypatch.setattr(synthetic, "write_wav", real)
    stale = final.with_name(f"{final.name}.tmp-999999")  # a leftover of a SIGKILLed generation
    (stale / "Actor_01").mkdir(parents=True)
    legacy_lock = final.with_name(f"{final.name}.lock")  # the lock file of the layout before .locks/
    legacy_lock.touch()
    assert ensure_synthetic(cfg, progress=False) == final
    assert visible(final.parent) == [final.name]


def visible(folder) -> list[str]:
    """What a user sees in the cache folder (the hidden `.locks/` folder is kept on purpose)."""
    return sorted(p.name for p in folder.iterdir() if p.name != ".locks")


def test_failed_preparation_leaves_nothing_behind(ravdess_root, tmp_path, monkeypatch):
    import avtca.data.prepare as prepare

    cfg = small_cfg(root=str(ravdess_root), cache=str(tmp_path), n_jobs=1)

    def broken(todo, cfg, shards):
        raise MemoryError("decoder ran out of memory")  # fails before the first shard is written
        yield

    monkeypatch.setattr(prepare, "_in_process", broken)
    with pytest.raises(MemoryError):
        ensure_prepared(cfg, progress=False)
    assert visible(tmp_path) == []  # no .partial folder, no .lock file, no temp copy
    assert [p.suffix for p in (tmp_path / ".locks").iterdir()] == [".lock"]


def test_stale_leftovers_are_swept_when_the_entry_is_prepared(ravdess_root, tmp_path):
    from avtca.data.cache import shard_dir

    cfg = small_cfg(root=str(ravdess_root), cache=str(tmp_path))
    final = cache_dir(cfg)
    leftovers = [
        shard_dir(cfg),  # an empty shard folder of a preparation that failed before this version
        final.with_name(f"{final.name}.tmp-999999"),  # the temp copy of a SIGKILLed writer
    ]
    for folder in leftovers:
        folder.mkdir()
    legacy_lock = final.with_name(f"{final.name}.lock")  # the lock file of the layout before .locks/
    legacy_lock.write_bytes(b"")
    other = tmp_path / "ravdess-0123456789abcdef.partial"  # another entry's: maybe in use, never touched
    other.mkdir()
    ensure_prepared(cfg, progress=False)
    assert visible(tmp_path) == sorted([final.name, other.name, "prepare-log.jsonl"])
