"""RAVDESS adapter on fixtures in the real layout: names, labels, pairing, bad files, end-to-end splits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from avtca.data import build_splits
from avtca.data.cache import cache_dir
from avtca.data.datasets.ravdess import CLASS_NAMES, RavdessOptions, parse_name, scan
from avtca.data.sources import DataLayoutError
from tests.clips import small_cfg


def test_parse_name_reads_every_field_and_rejects_what_is_not_ravdess():
    f = parse_name("01-01-05-02-01-02-13.mp4")
    assert f == {"modality": "01", "channel": "01", "emotion": "05", "intensity": "02", "statement": "01",
                 "repetition": "02", "actor": "13", "ext": "mp4"}  # fmt: skip
    assert CLASS_NAMES[int(f["emotion"]) - 1] == "angry"
    for bad in ("01-01-09-01-01-01-01.mp4", "01-01-01-01-01-01-25.mp4", "04-01-01-01-01-01-01.mp4",
                "03-01-01-01-01-01-01.mp4", "01-01-01-01-01-01-01.wav", "1-1-1-1-1-1-1.mp4", "notes.txt"):  # fmt: skip
        assert parse_name(bad) is None, bad


def test_scan_gives_one_sample_per_recording_with_paired_files(ravdess_root):
    got = scan(ravdess_root, RavdessOptions())
    ids = [c.id for c in got.clips]
    assert len(ids) == len(set(ids)) == 10  # 6 good + video-only pair + lfs stub + empty + truncated
    by_id = {c.id: c for c in got.clips}
    c = by_id["01-05-01-01-01-02"]
    assert c.label == 4 and c.actor == "02"
    assert c.video.endswith("01-01-05-01-01-01-02.mp4") and c.audio.endswith("03-01-05-01-01-01-02.wav")
    # no 01 file: video from the video-only 02 mp4, audio from the 03 wav
    v = by_id["01-08-02-02-01-03"]
    assert v.video.endswith("02-01-08-02-02-01-03.mp4") and v.audio.endswith("03-01-08-02-02-01-03.wav")
    # the 03 audio never becomes a sample of its own
    assert not any(x.video.endswith(".wav") for x in got.clips)
    reported = {p.split("/")[-1] for p, _ in got.problems}
    assert reported == {"notes.txt", "01-01-09-01-01-01-02.mp4"}
    assert all("unrecognised" in r for _, r in got.problems)


def test_audio_source_mp4_uses_the_audio_video_files_track(ravdess_root):
    got = scan(ravdess_root, RavdessOptions(audio_source="mp4"))
    c = {c.id: c for c in got.clips}["01-05-01-01-01-02"]
    assert c.audio == c.video
    v = {c.id: c for c in got.clips}["01-08-02-02-01-03"]  # the 02 file has no audio: the wav is used
    assert v.audio.endswith(".wav")


def test_vocal_channel_selects_song_or_both(ravdess_root):
    song = scan(ravdess_root, RavdessOptions(vocal_channel="song")).clips
    both = scan(ravdess_root, RavdessOptions(vocal_channel="both")).clips
    assert [c.id for c in song] == ["02-03-01-01-01-01"]
    assert len(both) == 11


def test_missing_root_and_wrong_layout_name_the_expected_layout(tmp_path):
    with pytest.raises(DataLayoutError, match="does not exist"):
        scan(tmp_path / "nope", RavdessOptions())
    (tmp_path / "Video_Speech").mkdir()
    with pytest.raises(DataLayoutError, match=r"Actor_01 .. Actor_24.*found \['Video_Speech'\]"):
        scan(tmp_path, RavdessOptions())


def test_prepare_skips_bad_media_and_lists_it_in_the_manifest(ravdess_root, tmp_path):
    cfg = small_cfg(root=str(ravdess_root), cache=str(tmp_path), protocol="random")
    splits = build_splits(cfg, progress=False)
    n = len(splits.train) + len(splits.val) + len(splits.test)
    assert n == 7
    manifest = json.loads((cache_dir(cfg) / "manifest.json").read_text())
    reasons = {s["id"]: s["reason"] for s in manifest["skipped"]}
    assert set(reasons) == {"01-03-01-01-01-03", "01-04-01-01-01-02", "01-06-01-01-01-01"}
    assert "git-lfs" in reasons["01-03-01-01-01-03"] and "empty" in reasons["01-04-01-01-01-02"]
    assert len(manifest["problems"]) == 2
    item = splits.train[0]
    assert item["audio"].shape == (10, cfg.audio_length) and item["video"].shape == (4, 3, 16, 16)
    assert item["target"].dtype.is_floating_point is False and item["id"] in manifest["ids"]
    assert splits.info.subject_independent is False and "NOT subject-independent" in splits.info.protocol_label


def test_actor_folds_on_prepared_fixture_are_actor_disjoint(ravdess_root, tmp_path):
    cfg = small_cfg(root=str(ravdess_root), cache=str(tmp_path))
    seen = []
    for fold in range(3):
        s = build_splits(cfg, fold=fold, progress=False)
        parts = [set(p.item_actors) for p in (s.train, s.val, s.test)]
        assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
        seen.append(tuple(sorted(parts[2])))
    # 3 actors -> 3 groups, each tested exactly once; there is no fourth fold
    assert sorted(seen) == [("01",), ("02",), ("03",)]
    with pytest.raises(ValueError, match="only 3 actor groups"):
        build_splits(cfg, fold=3, progress=False)
    frames = s.train.tensors()[1]
    assert frames.dtype.is_floating_point is False and np.prod(frames.shape[1:]) == 4 * 3 * 16 * 16
