"""Crop backends: the offline face detector on a real photo, centre crop, and crop + resize."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest
from skimage.data import astronaut

from avtca.config.base import ConfigError, Strict, validate
from avtca.data import DataConfig
from avtca.data.cache import cache_key
from avtca.data.crop import CROPS, CropCenter, CropFace, CropNone, center_box, crop_resize, detect_faces


def _iou(a, b):
    top, left = max(a[0], b[0]), max(a[1], b[1])
    bottom, right = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, bottom - top) * max(0, right - left)
    area = lambda x: (x[2] - x[0]) * (x[3] - x[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def test_registry_has_every_crop_kind():
    assert CROPS.names() == ["none", "center", "face"]  # registration order, as errors list them


class CropTopLeft(Strict):
    """Top-left square (a crop registered outside avtca, as a user's module would)."""

    kind: Literal["topleft"] = "topleft"
    side: int = 8


@pytest.fixture
def topleft():
    @CROPS.register(CropTopLeft)
    def _topleft(cfg: CropTopLeft):
        return lambda frames: (0, 0, cfg.side, cfg.side)

    yield
    CROPS.unregister("topleft")


def test_a_registered_crop_is_a_valid_data_crop(topleft):
    cfg = validate(DataConfig, {"crop": {"kind": "topleft", "side": 4}})
    assert cfg.crop == CropTopLeft(side=4) and cfg.model_dump()["crop"] == {"kind": "topleft", "side": 4}
    assert CROPS.build(cfg.crop)(np.zeros((2, 10, 12, 3), np.uint8)) == (0, 0, 4, 4)
    assert cache_key(cfg) != cache_key(validate(DataConfig, {"crop": {"kind": "topleft", "side": 5}}))
    with pytest.raises(ConfigError) as err:
        validate(DataConfig, {"crop": {"kind": "topleftt"}})
    assert err.value.problems == [
        "crop.kind: 'topleftt' is not one of none, center, face, topleft (did you mean 'topleft'?)"
    ]


def test_face_detector_finds_the_astronauts_face():
    img = astronaut()  # (512, 512, 3) photo of Eileen Collins; her face is near rows 60-170, columns 165-275
    boxes = detect_faces(img, detect_width=512)
    assert boxes, "no face found"
    assert _iou(boxes[0], (60, 165, 170, 275)) > 0.5


def test_face_crop_backend_boxes_the_face_in_a_clip_and_falls_back_without_one():
    img = astronaut()
    frames = np.stack([img] * 3)
    box = CROPS.build(CropFace(margin=0.0, detect_width=512))(frames)
    assert _iou(box, (60, 165, 170, 275)) > 0.4
    blank = np.full((3, 100, 160, 3), 128, dtype=np.uint8)
    assert CROPS.build(CropFace())(blank) == center_box(100, 160)
    assert CROPS.build(CropFace(fallback="none"))(blank) == (0, 0, 100, 160)


def test_center_and_none_crops_and_resize_to_channels_first():
    frames = np.zeros((2, 90, 160, 3), dtype=np.uint8)
    frames[:, :, 35:125] = 255  # the centre square is white
    box = CROPS.build(CropCenter())(frames)
    assert box == (0, 35, 90, 125)
    out = crop_resize(frames, box, 24)
    assert out.shape == (2, 3, 24, 24) and out.dtype == np.uint8 and out.min() == 255
    assert CROPS.build(CropNone())(frames) == (0, 0, 90, 160)
    assert CROPS.build(CropCenter(scale=0.5))(frames) == (22, 57, 67, 102)
