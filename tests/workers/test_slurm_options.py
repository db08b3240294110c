"""`resources.slurm` validated before anything is submitted (each problem naming its key), `--dry-run` printing
the batch script, and the follow/detach/Ctrl-C behaviour of the submitting command."""

from __future__ import annotations

import pytest

from ablations.runner.slurm import _stopped_following
from ablations.study.resources import SlurmOptions, sbatch_flag, time_minutes
from avtca.config.base import ConfigError, validate
from tests.workers.studies import run_cli, slurm_resources, write_study


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("90", 90), ("1:30", 2), ("12:00:00", 720), ("2-00:00:00", 2880), ("1-6", 1800), ("0-0:30", 30)],
)
def test_time_limits_in_every_slurm_format(text, minutes):
    assert time_minutes(text) == minutes


@pytest.mark.parametrize("text", ["12h", "1:2:3:4", "", "-5", "0", "1-"])
def test_malformed_time_limit_is_refused(text):
    with pytest.raises(ValueError, match="SLURM time limit|is zero"):
        time_minutes(text)


def test_sbatch_lines_parse_and_may_not_override_a_key():
    assert sbatch_flag("--constraint=a100") == ("constraint", "a100")
    assert sbatch_flag("#SBATCH --exclusive") == ("exclusive", True)
    assert sbatch_flag("--exclude node1,node2") == ("exclude", "node1,node2")
    with pytest.raises(ValueError, match="--partition is set by resources.slurm.partition"):
        sbatch_flag("--partition=gpu")
    with pytest.raises(ValueError, match="not a long sbatch option"):
        sbatch_flag("-p gpu")


def test_options_are_strict_and_name_the_key():
    cfg = {"name": "x", "dataset": {"name": "ravdess"}, "resources": {"slurm": {"time": "12h", "mem": "lots"}}}
    from ablations.study.schema import StudyConfig

    with pytest.raises(ConfigError) as err:
        validate(StudyConfig, cfg, "x.yaml")
    text = str(err.value)
    assert "resources.slurm.time" in text and "'12h' is not a SLURM time limit" in text
    assert "resources.slurm.mem" in text and "'lots' is not a SLURM memory size" in text
    with pytest.raises(ConfigError, match=r"resources.slurm.partiton: unknown key"):
        validate(StudyConfig, {**cfg, "resources": {"slurm": {"partiton": "gpu"}}}, "x.yaml")
    assert SlurmOptions(time="2-00:00:00").minutes == 2880


@pytest.mark.slurm
def test_bad_options_are_refused_before_anything_is_submitted(slurm, tmp_path):
    before = slurm.jobs_submitted()
    resources = slurm_resources(partition="nope", shared_filesystem=True)
    out = run_cli(write_study(tmp_path, "bad_partition", resources=resources), "--launcher", "slurm")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "resources.slurm.partition: 'nope' is not a partition of this cluster (sinfo lists: debug)" in out.stderr
    resources = slurm_resources(time="12h", shared_filesystem=True)
    out = run_cli(write_study(tmp_path, "bad_time", resources=resources), "--launcher", "slurm")
    assert out.returncode == 2 and "resources.slurm.time" in out.stderr and "'12h'" in out.stderr, out.stderr
    # the default stores (a journal file, sqlite:///) are refused for SLURM unless the filesystem is declared shared
    out = run_cli(write_study(tmp_path, "local_stores", resources=slurm_resources()), "--launcher", "slurm")
    assert out.returncode == 2, out.stderr
    assert "storage: " in out.stderr and "tracking_uri: " in out.stderr and "shared_filesystem" in out.stderr
    assert slurm.jobs_submitted() == before and not slurm.queued()
    assert not (tmp_path / "runs" / "slurm").exists()  # no job folder, no pickles: nothing was prepared


@pytest.mark.slurm
def test_dry_run_prints_the_batch_script_and_submits_nothing(slurm, tmp_path):
    before = slurm.jobs_submitted()
    resources = slurm_resources(
        tasks=3,
        array_parallelism=2,
        partition="debug",
        cpus_per_task=2,
        mem="2G",
        sbatch=["--constraint=fast"],
        setup=["module load cuda/12.4", "source .venv/bin/activate"],
        shared_filesystem=True,
    )
    out = run_cli(write_study(tmp_path, "dry", resources=resources), "--launcher", "slurm", "--dry-run")
    assert out.returncode == 0, out.stderr
    script = out.stdout.split("# the batch script --launcher slurm would submit (nothing was submitted):", 1)[1]
    for line in ("#SBATCH --array=0-2%2", "#SBATCH --partition=debug", "#SBATCH --time=15", "#SBATCH --mem=2G",
                 "#SBATCH --cpus-per-task=2", "#SBATCH --constraint=fast", "#SBATCH --signal=USR2@120",
                 "module load cuda/12.4", "source .venv/bin/activate", "-m submitit.core._submit"):  # fmt: skip
        assert line in script, script
    assert slurm.jobs_submitted() == before and not slurm.queued()


class _Job:
    job_id, tasks = "42", 2

    def __init__(self):
        self.cancelled = False

    def cancel(self):
        self.cancelled = True


def test_ctrl_c_while_following_leaves_the_array_unless_asked(capsys):
    job = _Job()
    assert _stopped_following([job], cancel=False, hint="python -m ablations.run s.yaml --status") == 130
    assert not job.cancelled
    err = capsys.readouterr().err
    assert "SLURM array job 42 keeps running" in err and "--status" in err and "scancel 42" in err
    assert _stopped_following([job], cancel=True, hint="") == 130 and job.cancelled
    assert "cancelled SLURM array job 42 (--cancel-on-interrupt)" in capsys.readouterr().err
