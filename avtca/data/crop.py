"""Crops (`data.crop.kind`): none, center, an offline face detector; each a config class and a registered builder.

A builder returns `box(frames) -> (top, left, bottom, right)`: the one box a clip's frames are cropped to
before resizing. A new crop is one config class plus one `@CROPS.register(Cfg)` builder, here or in the user's
own module; `data.crop` accepts every registered kind.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Annotated, Literal

import cv2
import numpy as np
from pydantic import Field, PositiveInt

from avtca.config.base import Strict
from avtca.registry import Registry

Box = tuple[int, int, int, int]  # (top, left, bottom, right) in pixels
# kinds listed in registration order (none, center, face), as the config union listed them
CROPS: Registry[Callable[[np.ndarray], Box]] = Registry("data.crop", order="registration")


class CropNone(Strict):
    """Keep the whole frame (resized, aspect ratio not preserved)."""

    kind: Literal["none"] = "none"


class CropCenter(Strict):
    """Centre square covering `scale` of the shorter side."""

    kind: Literal["center"] = "center"
    scale: Annotated[float, Field(gt=0, le=1)] = 1.0


class CropFace(Strict):
    """Offline face detector (scikit-image's bundled LBP frontal-face cascade), one box per clip."""

    kind: Literal["face"] = "face"
    margin: Annotated[float, Field(ge=0, le=1)] = 0.25  # extra border around the detected box, fraction of its size
    detect_width: PositiveInt = 320  # frames are downscaled to this width for detection (speed)
    probes: PositiveInt = 3  # sampled frames the detector runs on; the median box is used
    fallback: Literal["center", "none"] = "center"  # what to crop when no face is found


def center_box(height: int, width: int, scale: float = 1.0) -> Box:
    """Centred square of `scale` times the shorter side."""
    side = max(1, int(round(min(height, width) * scale)))
    top, left = (height - side) // 2, (width - side) // 2
    return top, left, top + side, left + side


@CROPS.register(CropNone)
def _none(cfg: CropNone):
    return lambda frames: (0, 0, frames.shape[1], frames.shape[2])


@CROPS.register(CropCenter)
def _center(cfg: CropCenter):
    return lambda frames: center_box(frames.shape[1], frames.shape[2], cfg.scale)


@lru_cache(maxsize=1)
def _cascade():
    # scikit-image ships OpenCV's LBP frontal-face cascade inside its wheel: nothing is downloaded
    from skimage.data import lbp_frontal_face_cascade_filename
    from skimage.feature import Cascade

    return Cascade(lbp_frontal_face_cascade_filename())


def detect_faces(image: np.ndarray, detect_width: int = 320) -> list[Box]:
    """Face boxes in an RGB (H, W, 3) uint8 image, largest first, in the image's own pixels."""
    h, w = image.shape[:2]
    scale = min(1.0, detect_width / w)
    small = cv2.resize(image, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float64) / 255.0
    sh, sw = gray.shape
    lo = max(24, min(sh, sw) // 8)
    found = _cascade().detect_multi_scale(
        img=gray, scale_factor=1.2, step_ratio=1, min_size=(lo, lo), max_size=(sh, sw), min_neighbor_number=2
    )
    boxes = [
        (
            int(d["r"] / scale),
            int(d["c"] / scale),
            int((d["r"] + d["height"]) / scale),
            int((d["c"] + d["width"]) / scale),
        )
        for d in found
    ]
    return sorted(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]), reverse=True)


def _expand(box: Box, margin: float, height: int, width: int) -> Box:
    """Square box around `box`, grown by `margin` of its size on each side, kept inside the image."""
    top, left, bottom, right = box
    side = int(max(bottom - top, right - left) * (1 + 2 * margin))
    side = min(side, height, width)
    cy, cx = (top + bottom) // 2, (left + right) // 2
    top = int(np.clip(cy - side // 2, 0, height - side))
    left = int(np.clip(cx - side // 2, 0, width - side))
    return top, left, top + side, left + side


@CROPS.register(CropFace)
def _face(cfg: CropFace):
    def box(frames: np.ndarray) -> Box:
        t, h, w = frames.shape[:3]
        probes = np.unique(np.linspace(0, t - 1, min(cfg.probes, t)).round().astype(int))
        found = [b[0] for b in (detect_faces(frames[i], cfg.detect_width) for i in probes) if b]
        if not found:
            return center_box(h, w) if cfg.fallback == "center" else (0, 0, h, w)
        median = tuple(int(v) for v in np.median(np.array(found), axis=0))
        return _expand(median, cfg.margin, h, w)

    return box


def crop_resize(frames: np.ndarray, box: Box, size: int) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T, 3, size, size) uint8, cropping every frame to the same box."""
    top, left, bottom, right = box
    out = np.empty((len(frames), size, size, 3), dtype=np.uint8)
    for i, frame in enumerate(frames):
        patch = frame[top:bottom, left:right]
        interp = cv2.INTER_AREA if patch.shape[0] > size else cv2.INTER_LINEAR
        out[i] = cv2.resize(patch, (size, size), interpolation=interp)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))
