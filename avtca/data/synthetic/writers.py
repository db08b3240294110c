"""Write media in the datasets' real containers with PyAV (mp4 h264+aac, flv FLV1+aac) and wav."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int) -> None:
    """Mono 16-bit PCM wav."""
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(sample_rate)
        fh.writeframes(pcm.tobytes())


def write_video(path: str | Path, frames: np.ndarray, fps: int, audio: np.ndarray | None = None,
                sample_rate: int = 48000, container: str = "mp4") -> None:  # fmt: skip
    """(N, H, W, 3) uint8 RGB frames (+ optional mono audio track) into an mp4 (h264/aac) or flv (flv1/aac)."""
    vcodec, acodec = ("libx264", "aac") if container == "mp4" else ("flv", "aac")
    with av.open(str(path), "w", format=container) as out:
        vs = out.add_stream(vcodec, rate=fps)
        vs.width, vs.height = frames.shape[2], frames.shape[1]
        vs.pix_fmt = "yuv420p"
        if vcodec == "libx264":
            vs.options = {"preset": "ultrafast", "crf": "20"}
        else:
            vs.bit_rate = 800_000
        streams = [vs]
        if audio is not None:
            aus = out.add_stream(acodec, rate=sample_rate, layout="mono")
            streams.append(aus)
        for img in frames:
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
        if audio is not None:
            _encode_audio(out, aus, audio, sample_rate)


def _encode_audio(out, stream, audio: np.ndarray, sample_rate: int) -> None:
    size = stream.codec_context.frame_size or 1152
    fmt = stream.codec_context.format.name  # fltp for aac, s16p/fltp for mp3
    samples = np.clip(audio, -1, 1).astype(np.float32)
    pts = 0
    for i in range(0, len(samples), size):
        chunk = samples[i : i + size]
        if len(chunk) < size:
            chunk = np.pad(chunk, (0, size - len(chunk)))
        data = chunk[None, :]
        if fmt.startswith("s16"):
            data = (data * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
        frame.sample_rate = sample_rate
        frame.pts = pts
        pts += size
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
