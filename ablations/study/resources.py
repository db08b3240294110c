"""The study file's `resources.slurm` block: where and how the SLURM array of workers runs (docs/distributed.md)."""

from __future__ import annotations

import re

from pydantic import Field, NonNegativeInt, PositiveInt, field_validator

from avtca.config.base import Strict

# the SLURM time formats sbatch accepts: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S
_TIME = re.compile(r"^(?:(\d+)-(\d+)(?::(\d+)(?::(\d+))?)?|(\d+)(?::(\d+))?|(\d+):(\d+):(\d+))$")
_MEM = re.compile(r"^\d+[KMGT]?$")
# flags the other keys set (or the launcher needs): an extra line may not change them behind the key's back
RESERVED = {
    "array": "resources.slurm.tasks / array_parallelism",
    "partition": "resources.slurm.partition",
    "account": "resources.slurm.account",
    "qos": "resources.slurm.qos",
    "time": "resources.slurm.time",
    "cpus-per-task": "resources.slurm.cpus_per_task",
    "gpus-per-node": "resources.slurm.gpus_per_task",
    "mem": "resources.slurm.mem",
    "signal": "resources.slurm.signal_s",
    "output": "the launcher (logs go to resources.slurm.folder)",
    "error": "the launcher (logs go to resources.slurm.folder)",
    "job-name": "resources.slurm.job_name",
}


def time_minutes(text: str) -> int:
    """A SLURM time limit (`90`, `1:30:00`, `2-00:00:00`...) in whole minutes (rounded up); ValueError otherwise."""
    m = _TIME.match(text.strip())
    if not m:
        raise ValueError(
            f"'{text}' is not a SLURM time limit (expected minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS, "
            "e.g. 12:00:00)"
        )
    g = [int(x) if x is not None else 0 for x in m.groups()]
    if m.group(1) is not None:  # D-H[:M[:S]]
        seconds = ((g[0] * 24 + g[1]) * 60 + g[2]) * 60 + g[3]
    elif m.group(5) is not None:  # M[:S]
        seconds = g[4] * 60 + g[5]
    else:  # H:M:S
        seconds = (g[6] * 60 + g[7]) * 60 + g[8]
    if seconds <= 0:
        raise ValueError(f"'{text}' is zero: give a positive time limit")
    return -(-seconds // 60)


def sbatch_flag(line: str) -> tuple[str, str | bool]:
    """`--constraint=a100` (or `#SBATCH --constraint a100`) as ('constraint', 'a100'); `--exclusive` as (.., True)."""
    text = line.strip().removeprefix("#SBATCH").strip()
    if not text.startswith("--") or len(text) < 3:
        raise ValueError(f"'{line}' is not a long sbatch option (expected e.g. --constraint=a100)")
    key, sep, value = text[2:].replace(" ", "=", 1).partition("=")
    if not re.fullmatch(r"[a-z][a-z0-9-]*", key):
        raise ValueError(f"'{line}': '--{key}' is not an sbatch option name")
    if key in RESERVED:
        raise ValueError(f"'{line}': --{key} is set by {RESERVED[key]}")
    return key, (value.strip() if sep else True)


class SlurmOptions(Strict):
    """Where the SLURM job array runs (`--launcher slurm`): one array task per worker loop, all claiming cells."""

    partition: str | None = Field(None, description="partition (checked with sinfo); None = the cluster's default")
    account: str | None = Field(None, description="account to charge (--account)")
    qos: str | None = Field(None, description="quality of service (--qos)")
    time: str = Field("4:00:00", description="time limit of each array task (SLURM format, e.g. 12:00:00)")
    tasks: PositiveInt = Field(2, description="array tasks (each runs a worker loop over the study's cells)")
    array_parallelism: PositiveInt | None = Field(None, description="at most this many tasks at once (%N)")
    gpus_per_task: NonNegativeInt = Field(0, description="GPUs per array task (--gpus-per-node)")
    cpus_per_task: PositiveInt | None = Field(None, description="CPUs per array task; also the torch threads")
    mem: str | None = Field(None, description="memory per array task, e.g. 32G (--mem)")
    sbatch: list[str] = Field(default_factory=list, description="extra #SBATCH options, e.g. [--constraint=a100]")
    setup: list[str] = Field(
        default_factory=list,
        description="shell lines run before the worker (module load cuda, source .venv/bin/activate)",
    )
    python: str | None = Field(None, description="the interpreter on the nodes; None = the submitting one")
    signal_s: PositiveInt = Field(
        120, description="seconds before the time limit that a task is warned (USR2): it releases its cell, requeues"
    )
    folder: str | None = Field(None, description="job scripts and logs; None = runs/slurm/<study name>")
    job_name: str | None = Field(None, description="job name; None = avtca-<study name>")
    shared_filesystem: bool = Field(
        False,
        description="declare that a journal/sqlite storage and sqlite tracking sit on a filesystem whose locks "
        "work across the nodes; without it SLURM needs PostgreSQL + an MLflow server",
    )
    wait_for_others: bool = Field(
        True,
        description="a task with nothing left to claim waits while other tasks' cells run, to take over a "
        "cell whose task died (after resources.grace_s)",
    )

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        time_minutes(value)
        return value

    @field_validator("mem")
    @classmethod
    def _mem(cls, value: str | None) -> str | None:
        if value is not None and not _MEM.match(value):
            raise ValueError(f"'{value}' is not a SLURM memory size (expected e.g. 16G, 16000M or 16000)")
        return value

    @field_validator("sbatch")
    @classmethod
    def _sbatch(cls, value: list[str]) -> list[str]:
        for i, line in enumerate(value):
            try:
                sbatch_flag(line)
            except ValueError as err:
                raise ValueError(f"[{i}] {err}") from None
        return value

    @field_validator("partition", "account", "qos")
    @classmethod
    def _word(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_.,-]+", value):
            raise ValueError(f"'{value}' is not a SLURM name (letters, digits, _ . , -)")
        return value

    @property
    def minutes(self) -> int:
        """The time limit in minutes."""
        return time_minutes(self.time)

    def extra_flags(self) -> dict[str, str | bool]:
        """The `sbatch` lines as submitit's additional_parameters."""
        return dict(sbatch_flag(line) for line in self.sbatch)
