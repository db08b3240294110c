"""Where a study stands once this command's workers stopped, and the exit codes of running it."""

from __future__ import annotations

from dataclasses import dataclass

from ablations.cells import Cell
from ablations.claims import open_claim_store
from ablations.startup import EXIT_INTERRUPTED
from ablations.study import StudyConfig

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

    @property
    def is_complete(self) -> bool:
        """Every cell of the study is complete: its report (the study's answer) can be rendered."""
        return self.complete == self.n_cells

    @property
    def parent_status(self) -> str:
        """The MLflow status the study's parent run ends with."""
        return "FINISHED" if self.is_complete else ("KILLED" if self.interrupted else "FAILED")


def study_outcome(study: StudyConfig, cells: list[Cell], interrupted: bool) -> Outcome:
    """Read the claim store once the workers stopped: the one place deciding whether the study is complete."""
    store = open_claim_store(study.storage_url, study.name, study.resources.grace_s)
    final = store.status()
    stale = set(store.stale())
    live = frozenset(cid for cid, st in final.items() if st.state == "RUNNING" and cid not in stale)
    return Outcome(
        n_cells=len(cells),
        complete=sum(1 for c in cells if getattr(final.get(c.cell_id), "state", None) == "COMPLETE"),
        live=live,
        elsewhere=sum(1 for c in cells if c.cell_id in live),
        interrupted=interrupted,
    )
