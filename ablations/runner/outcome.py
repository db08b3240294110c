"""Where a study stands once this command's workers stopped, and the exit codes of running it."""

from __future__ import annotations

from dataclasses import dataclass

from ablations.startup import EXIT_INTERRUPTED
from ablations.storage.claims import open_claim_store
from ablations.study.cells import Cell
from ablations.study.schema import StudyConfig
from ablations.tracking import Tracker

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_INVALID", "EXIT_OK", "Outcome", "study_outcome"]


@dataclass(frozen=True)
class Outcome:
    """The study's cells after the workers, as the claim store has them."""

    n_cells: int
    complete: int  # cells COMPLETE in the claim store
    live: frozenset[str]  # cells RUNNING with a fresh heartbeat: workers of other commands still own them
    elsewhere: int  # how many of this study's cells are in `live`
    interrupted: bool  # this command's workers were stopped (Ctrl-C, SIGTERM, an I/O error)
    # every trial complete, but MLflow lacks runs of some: the problems, with the repair (--resync-tracking)
    untracked: tuple[str, ...] = ()

    @property
    def trials_complete(self) -> bool:
        """Every cell has its finished trial in the Optuna storage (the claim store says COMPLETE)."""
        return self.complete == self.n_cells

    @property
    def is_complete(self) -> bool:
        """Every cell is complete and tracked: the report (the study's answer) can be rendered."""
        return self.trials_complete and not self.untracked

    @property
    def parent_status(self) -> str:
        """The MLflow status the study's parent run ends with."""
        return "FINISHED" if self.is_complete else ("KILLED" if self.interrupted else "FAILED")


def study_outcome(
    study: StudyConfig,
    cells: list[Cell],
    interrupted: bool,
    tracker: Tracker | None = None,
    study_file: str | None = None,
) -> Outcome:
    """Read the claim store once the workers stopped: the one place deciding whether the study is complete.

    With `tracker`, a study whose trials are all complete is complete only if MLflow holds every run too."""
    store = open_claim_store(study.storage_url, study.name, study.resources.grace_s)
    final = store.status()
    stale = set(store.stale())
    live = frozenset(cid for cid, st in final.items() if st.state == "RUNNING" and cid not in stale)
    complete = sum(1 for c in cells if getattr(final.get(c.cell_id), "state", None) == "COMPLETE")
    untracked: list[str] = []
    if tracker is not None and complete == len(cells) and not interrupted:
        from ablations.storage.integrity import check_tracked  # needs Optuna: loaded only once a study ran

        untracked = check_tracked(study, cells, tracker, study_file or "STUDY.yaml")
    return Outcome(
        n_cells=len(cells),
        complete=complete,
        live=live,
        elsewhere=sum(1 for c in cells if c.cell_id in live),
        interrupted=interrupted,
        untracked=tuple(untracked),
    )
