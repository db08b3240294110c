"""What an adapter returns: the clips it found (labels from the dataset's own naming) and what it could not use."""

from __future__ import annotations

from dataclasses import dataclass, field


class DataLayoutError(ValueError):
    """The dataset root is missing or not laid out as expected; the message names both."""


@dataclass(frozen=True)
class Clip:
    """One sample: paired video and audio files of the same recording, and its labels."""

    id: str
    actor: str
    label: int  # intended label index into the dataset's class names
    video: str | None
    audio: str | None
    perceived: int = -1  # CREMA-D majority-vote label index, -1 when unknown or tied


@dataclass
class Scan:
    """Adapter output: usable clips in a stable order, plus (path, reason) for files that were not used."""

    clips: list[Clip] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
