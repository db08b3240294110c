"""CREMA-D adapter: real layout (VideoFlash flv + AudioWAV wav), intended and perceived labels, broken clips."""

from __future__ import annotations

import pytest

from avtca.data import build_splits
from avtca.data.config import SyntheticOptions
from avtca.data.datasets.cremad import CremadOptions, parse_name, perceived_labels, scan
from avtca.data.sources import DataLayoutError
from avtca.data.synthetic import generate
from tests.clips import small_cfg


@pytest.fixture(scope="module")
def cremad_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cremad")
    generate("cremad", root, SyntheticOptions(actors=3, statements=1, seconds=1.0, size=32), progress=False)
    # known problems of public copies: a clip with no video, a broken video, a stray file
    (root / "VideoFlash" / "1002_IEO_SAD_XX.flv").unlink()
    (root / "VideoFlash" / "1003_IEO_DIS_XX.flv").write_bytes(b"FLV\x01 broken")
    (root / "AudioWAV" / "README.txt").write_text("x")
    return root


def test_parse_name():
    assert parse_name("1076_MTI_NEU_XX.wav") == {"actor": "1076", "sentence": "MTI", "emotion": "NEU", "level": "XX",
                                                  "ext": "wav"}  # fmt: skip
    for bad in ("1076_MTI_XXX_XX.wav", "0999_MTI_NEU_XX.wav", "1076_ABC_NEU_XX.wav", "1076_MTI_NEU_ZZ.flv"):
        assert parse_name(bad) is None


def test_scan_pairs_flv_and_wav_and_reports_the_rest(cremad_root):
    got = scan(cremad_root, CremadOptions())
    assert len(got.clips) == 3 * 6 - 1
    c = {c.id: c for c in got.clips}["1001_IEO_ANG_XX"]
    assert (c.actor, c.label) == ("1001", 0) and c.video.endswith(".flv") and c.audio.endswith(".wav")
    reasons = dict(got.problems)
    assert reasons["1002_IEO_SAD_XX"].startswith("no VideoFlash")
    assert any(p.endswith("README.txt") for p in reasons)


def test_perceived_labels_are_the_audio_visual_majority_vote_and_ties_are_left_out(cremad_root):
    votes = perceived_labels(cremad_root)
    lines = (cremad_root / "processedResults" / "tabulatedVotes.csv").read_text().splitlines()[1:]
    ties = [ln for ln in lines if ":" in ln.split(",")[-1]]
    assert len(votes) == len(lines) - len(ties) > 0
    for ln in lines:
        name, vote = ln.split(",")[7].strip('"'), ln.split(",")[-1].strip('"')
        if ":" not in vote:
            assert votes[name] == "ADFHNS".index(vote)


def test_broken_clip_is_skipped_and_perceived_labels_drop_unvoted_clips(cremad_root, tmp_path):
    cfg = small_cfg(name="cremad", root=str(cremad_root), cache=str(tmp_path), protocol="random")
    s = build_splits(cfg, progress=False)
    assert len(s.train) + len(s.val) + len(s.test) == 16
    assert s.info.class_names == ("anger", "disgust", "fear", "happy", "neutral", "sad")
    perceived = small_cfg(
        name="cremad", root=str(cremad_root), cache=str(tmp_path), protocol="random", cremad={"labels": "perceived"}
    )
    assert perceived.options == CremadOptions(labels="perceived") and cfg.options == CremadOptions()
    p = build_splits(perceived, progress=False)
    n = len(p.train) + len(p.val) + len(p.test)
    votes = perceived_labels(cremad_root)
    assert n == sum(1 for k in votes if k not in ("1002_IEO_SAD_XX", "1003_IEO_DIS_XX"))
    ids = set(p.train.item_ids + p.val.item_ids + p.test.item_ids)
    for part in (p.train, p.val, p.test):
        for i in range(len(part)):
            assert int(part[i]["target"]) == votes[part[i]["id"]]
    assert ids <= set(votes)


def test_wrong_layout(tmp_path):
    (tmp_path / "AudioWAV").mkdir()
    with pytest.raises(DataLayoutError, match="VideoFlash/<id>.flv"):
        scan(tmp_path, CremadOptions())
