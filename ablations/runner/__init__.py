"""Running a study from its validated config: what `python -m ablations.run` calls once it has parsed the command.

plan.py (validated cells, cell states, the --dry-run table), execute.py (prepare once, launch the workers,
--resync-tracking), finish.py (after the workers: MLflow clean-up, summary, verdict), outcome.py (whether the
study is complete; exit codes), answer.py (the report rendered and logged to the parent run).
"""

from ablations.runner.answer import publish_answer, render_report
from ablations.runner.execute import RunOptions, prepare_optuna, resync_study, run_study
from ablations.runner.outcome import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, Outcome, study_outcome
from ablations.runner.plan import dry_run, pilot_power, plan, print_plan, validated_cells

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_OK",
    "Outcome",
    "RunOptions",
    "dry_run",
    "pilot_power",
    "plan",
    "prepare_optuna",
    "print_plan",
    "publish_answer",
    "render_report",
    "resync_study",
    "run_study",
    "study_outcome",
    "validated_cells",
]
