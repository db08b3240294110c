"""A real single-node SLURM cluster for the worker tests, started by the project's own `.ci/slurm.sh`.

Without SLURM (slurmctld, slurmd, slurmdbd, munged, mariadbd) the tests that need it skip, unless
AVTCA_REQUIRE_SLURM=1 (CI): then they fail. The cluster lives in a temp folder; clients find it through SLURM_CONF,
set for this session only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / ".ci" / "slurm.sh"
DAEMONS = ("slurmctld", "slurmd", "slurmdbd", "munged", "mariadbd", "sbatch")
REQUIRE = os.environ.get("AVTCA_REQUIRE_SLURM") == "1"


@dataclass
class Slurm:
    """The running test cluster: its folder and config, and the client commands run against it."""

    folder: Path
    conf: Path

    def run(self, *cmd: str, check: bool = True) -> str:
        """A SLURM client command (squeue, scancel, sacct...) against this cluster; its stdout."""
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=60, env={**os.environ, "SLURM_CONF": str(self.conf)}
        )
        if check and out.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr}")
        return out.stdout

    def queued(self, job: str | None = None) -> list[str]:
        """`JOBID STATE` of every queued or running job (of `job` only, when given)."""
        args = ["squeue", "-h", "-o", "%i %T"] + (["-j", job] if job else [])
        return [line for line in self.run(*args, check=False).splitlines() if line.strip()]

    def wait_gone(self, job: str, timeout_s: float) -> None:
        """Until no task of `job` is queued or running."""
        deadline = time.monotonic() + timeout_s
        while self.queued(job):
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job} still queued after {timeout_s:.0f} s: {self.queued(job)}")
            time.sleep(1)

    def jobs_submitted(self) -> int:
        """How many jobs the accounting knows (array tasks counted once per array)."""
        return len([ln for ln in self.run("sacct", "-X", "-n", "-a", "-o", "JobIDRaw").split() if ln.strip()])


def _unavailable(why: str) -> None:
    if REQUIRE:
        pytest.fail(f"{why} (AVTCA_REQUIRE_SLURM=1, so this is an error, not a skip)")
    pytest.skip(why)


@pytest.fixture(scope="session")
def slurm():
    """A running single-node SLURM cluster (`.ci/slurm.sh start`), stopped at the end of the session."""
    missing = [d for d in DAEMONS if shutil.which(d) is None]
    if missing:
        _unavailable(f"SLURM not installed ({', '.join(missing)} missing: apt-get install slurm-wlm munge slurmdbd "
                     "mariadb-server)")  # fmt: skip
    if os.geteuid() != 0:
        _unavailable("the test SLURM cluster runs its daemons as root (SlurmUser=root)")
    folder = Path(tempfile.mkdtemp(prefix="avtca-slurm-"))
    out = subprocess.run(
        ["bash", str(SCRIPT), "start", str(folder)], capture_output=True, text=True, timeout=120, start_new_session=True
    )
    if out.returncode != 0:
        subprocess.run(["bash", str(SCRIPT), "stop", str(folder)], capture_output=True, timeout=120)
        pytest.fail(f".ci/slurm.sh start failed:\n{out.stdout}\n{out.stderr}")
    before = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(folder / "slurm.conf")  # the runner, submitit and sbatch find the cluster
    try:
        yield Slurm(folder, folder / "slurm.conf")
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(folder)], capture_output=True, timeout=120)
        if before is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = before
        shutil.rmtree(folder, ignore_errors=True)
