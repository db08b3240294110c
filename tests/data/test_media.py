"""Decoding and audio/video window alignment on real containers (mp4 h264+aac, flv, wav)."""

from __future__ import annotations

import numpy as np
import pytest

from avtca.data.media import MediaError, check_file, clip_window, frame_times, read_audio, read_frames, video_span
from avtca.data.synthetic.writers import write_video, write_wav
from tests.clips import ramp_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    d = tmp_path_factory.mktemp("media")
    frames, audio = ramp_clip(seconds=1.0, fps=10, sr=8000)
    write_video(d / "c.mp4", frames, 10, audio, 8000, "mp4")
    write_video(d / "c.flv", frames, 10, audio, 8000, "flv")
    write_wav(d / "c.wav", audio, 8000)
    return d


def test_window_is_centred_and_starts_at_zero_for_short_clips():
    assert clip_window(4.0, 3.6) == pytest.approx(0.2)
    assert clip_window(2.0, 3.6) == 0.0
    assert frame_times(1.0, 2.0, 4).tolist() == [1.25, 1.75, 2.25, 2.75]


@pytest.mark.parametrize("ext", ["mp4", "flv"])
def test_frames_are_the_ones_nearest_to_the_window_times(clip, ext):
    # flv starts the video after the AAC encoder delay; its span comes from the container duration
    t0, seconds = video_span(clip / f"c.{ext}")
    assert seconds == pytest.approx(1.0, abs=0.06)
    assert t0 == (0.0 if ext == "mp4" else pytest.approx(0.128, abs=0.01))
    times = t0 + frame_times(0.25, 0.5, 4)  # 0.3125, 0.4375, 0.5625, 0.6875 s -> frames 3, 4, 6, 7 at 10 fps
    got = read_frames(clip / f"c.{ext}", times)
    assert got.shape == (4, 32, 32, 3) and got.dtype == np.uint8
    brightness = got.mean(axis=(1, 2, 3))
    np.testing.assert_allclose(brightness, [60, 80, 120, 140], atol=6)


def test_frames_past_the_end_repeat_the_last_frame(clip):
    got = read_frames(clip / "c.mp4", frame_times(0.0, 2.0, 4))  # 0.25, 0.75 (ties: the later frame), 1.25, 1.75 s
    brightness = got.mean(axis=(1, 2, 3))
    np.testing.assert_allclose(brightness[:2], [60, 160], atol=6)
    np.testing.assert_allclose(brightness[2:], [180, 180], atol=6)


def test_audio_window_matches_the_video_window_in_time(clip):
    # the audio value is t / 4, so each sample says which instant it came from
    sig = read_audio(clip / "c.wav", 8000, 0.25, 0.5)
    assert sig.shape == (4000,) and sig.dtype == np.float32
    t = 0.25 + np.arange(4000) / 8000
    np.testing.assert_allclose(sig, t / 4, atol=2e-3)


@pytest.mark.parametrize("ext", ["mp4", "flv"])
def test_audio_from_the_container_track_lines_up_with_the_wav(clip, ext):
    t0, _ = video_span(clip / f"c.{ext}")
    wav = read_audio(clip / "c.wav", 8000, 0.25, 0.5)
    track = read_audio(clip / f"c.{ext}", 8000, t0 + 0.25, 0.5)
    # lossy AAC: compare the slow ramp, i.e. the mean over 50 ms blocks
    np.testing.assert_allclose(track.reshape(10, -1).mean(1), wav.reshape(10, -1).mean(1), atol=0.01)


def test_audio_is_resampled_and_zero_padded_past_the_end(clip):
    sig = read_audio(clip / "c.wav", 16000, 0.5, 1.0)
    assert sig.shape == (16000,)
    assert np.abs(sig[9000:]).max() == 0.0  # after 1.0 s there is no audio
    assert sig[7000] == pytest.approx((0.5 + 7000 / 16000) / 4, abs=3e-3)


def test_bad_files_raise_media_error_naming_the_problem(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "lfs.mp4").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 9\n")
    (tmp_path / "junk.mp4").write_bytes(b"\x00junk" * 100)
    with pytest.raises(MediaError, match="empty"):
        check_file(tmp_path / "empty.mp4")
    with pytest.raises(MediaError, match="git-lfs"):
        read_frames(tmp_path / "lfs.mp4", [0.1])
    with pytest.raises(MediaError):
        read_frames(tmp_path / "junk.mp4", [0.1])
    with pytest.raises(MediaError, match="missing"):
        read_audio(tmp_path / "nope.wav", 8000, 0, 1)


@pytest.mark.parametrize(("video", "audio"), [("c.mp4", "c.wav"), ("c.flv", "c.wav"), ("c.mp4", "c.mp4"),
                                              ("c.flv", "c.flv")])  # fmt: skip
def test_prepared_window_covers_the_same_span_in_both_modalities(clip, video, audio):
    from avtca.data.prepare import load_window
    from avtca.data.sources import Clip
    from tests.clips import small_cfg

    cfg = small_cfg(duration=0.5, frames=4)  # centred in the 1 s clip: 0.25 .. 0.75 s after the first frame
    c = Clip(id="x", actor="01", label=0, video=str(clip / video), audio=str(clip / audio))
    frames, signal, start = load_window(c, cfg)
    assert start == pytest.approx(0.25, abs=0.03)
    np.testing.assert_allclose(frames.mean(axis=(1, 2, 3)), [60, 80, 120, 140], atol=6)
    # audio value = t / 4 with t counted from the first frame: the same instants as the frames
    expect = (start + np.arange(len(signal)) / cfg.sample_rate) / 4
    tol = 2e-3 if audio.endswith(".wav") else 0.01
    np.testing.assert_allclose(signal.reshape(10, -1).mean(1), expect.reshape(10, -1).mean(1), atol=tol)
