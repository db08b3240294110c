"""Decoding with PyAV: clip duration, frames at given times, resampled mono audio over a time window."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

LFS_MAGIC = b"version https://git-lfs"


class MediaError(RuntimeError):
    """A media file cannot be used (empty, git-lfs pointer, truncated, no stream); the message says why."""


def check_file(path: str | Path) -> None:
    """Raise MediaError for missing, empty and git-lfs pointer files before handing them to the decoder."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"missing file: {path}")
    size = path.stat().st_size
    if size == 0:
        raise MediaError(f"empty file: {path}")
    with path.open("rb") as fh:
        head = fh.read(len(LFS_MAGIC))
    if head == LFS_MAGIC:
        raise MediaError(f"git-lfs pointer stub, not media (run `git lfs pull`): {path}")


def _open(path: str | Path):
    check_file(path)
    try:
        return av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as err:
        raise MediaError(f"cannot open {path}: {err}") from None


def video_span(path: str | Path) -> tuple[float, float]:
    """(start, seconds) of the first video stream on the container's timeline (metadata; decodes only if absent).

    Containers may start the video late (flv shifts it by the audio encoder delay), so windows are placed
    relative to `start`; a separate audio file's sample 0 corresponds to the video's first frame.
    """
    with _open(path) as container:
        if not container.streams.video:
            raise MediaError(f"no video stream in {path}")
        stream = container.streams.video[0]
        tb = stream.time_base
        start = float(stream.start_time * tb) if stream.start_time is not None and tb is not None else 0.0
        if stream.duration is not None and tb is not None:
            return start, float(stream.duration * tb)
        if container.duration is not None:
            begin = (container.start_time or 0) / av.time_base
            return start, container.duration / av.time_base + begin - start
        last = start
        try:
            for frame in container.decode(stream):
                last = frame.time if frame.time is not None else last
        except av.FFmpegError as err:
            raise MediaError(f"cannot decode {path}: {err}") from None
        return start, last - start + 1.0 / float(stream.average_rate or 30)


def clip_window(clip_seconds: float, duration: float) -> float:
    """Start of the `duration`-second window centred on the clip (0 when the clip is shorter: tail is padded)."""
    return max(0.0, (clip_seconds - duration) / 2.0)


def frame_times(start: float, duration: float, frames: int) -> np.ndarray:
    """Centres of `frames` equal slots covering [start, start + duration]."""
    return start + (np.arange(frames) + 0.5) * duration / frames


def read_frames(path: str | Path, times: np.ndarray) -> np.ndarray:
    """RGB frames nearest to each time, (T, H, W, 3) uint8; past the end of the clip the last frame repeats."""
    times = np.asarray(times, dtype=np.float64)
    chosen: list[np.ndarray | None] = [None] * len(times)
    prev = None  # (time, frame)
    want = 0
    with _open(path) as container:
        if not container.streams.video:
            raise MediaError(f"no video stream in {path}")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else (0.0 if prev is None else prev[0] + 1 / 30)
                while want < len(times) and t >= times[want]:
                    # nearest of the previous and the current frame to the wanted time
                    use = frame if prev is None or abs(t - times[want]) <= abs(times[want] - prev[0]) else prev[1]
                    chosen[want] = use.to_ndarray(format="rgb24")
                    want += 1
                if want == len(times):
                    break
                prev = (t, frame)
        except av.FFmpegError as err:
            if prev is None:
                raise MediaError(f"cannot decode {path}: {err}") from None
            # a truncated tail: keep what decoded, the rest repeats the last good frame
    if want < len(times):
        if prev is None:
            raise MediaError(f"no decodable video frames in {path}")
        tail = prev[1].to_ndarray(format="rgb24")  # the clip's last decodable frame
        for i in range(want, len(times)):
            chosen[i] = tail
    return np.stack(chosen)


def read_audio(path: str | Path, sample_rate: int, start: float, duration: float) -> np.ndarray:
    """Mono float32 samples of [start, start + duration] at `sample_rate`; zero-padded past the end."""
    n = int(round(sample_rate * duration))
    chunks: list[np.ndarray] = []
    offset = None  # stream time of the first decoded sample
    with _open(path) as container:
        if not container.streams.audio:
            raise MediaError(f"no audio stream in {path}")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        try:
            for frame in container.decode(stream):
                if offset is None:
                    offset = float(frame.time) if frame.time is not None else 0.0
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.FFmpegError as err:
            if not chunks:
                raise MediaError(f"cannot decode {path}: {err}") from None
    if not chunks:
        raise MediaError(f"no decodable audio in {path}")
    signal = np.concatenate(chunks).astype(np.float32)
    first = int(round((start - (offset or 0.0)) * sample_rate))
    out = np.zeros(n, dtype=np.float32)
    lo = max(first, 0)
    piece = signal[lo : first + n]
    out[lo - first : lo - first + len(piece)] = piece
    return out
