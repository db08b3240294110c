"""`python -m ablations.run STUDY --dry-run --pilot reports/<pilot>`: the power of a planned design, from a pilot."""

from __future__ import annotations

from pathlib import Path

from ablations.report.compare.comparison import compare_all
from ablations.report.read.load import load_runs
from ablations.report.rendering.power import replicates, replication


def pilot_estimate(pilot: str | Path, folds: int, seeds: int, variants: int, max_folds: int) -> str:
    """What the planned design (folds x seeds, `variants` compared with the reference) detects, and the
    replication that detects 2 and 5 points, from the variance components of the pilot's main metric."""
    path = Path(pilot)
    path = path / "runs.csv" if path.is_dir() else path
    runs = load_runs(path)
    lines = [f"power estimate from the pilot {path} for {replicates(folds, seeds)} ({variants} comparisons):"]
    for t in compare_all(runs, where=str(path)):
        c = t.components
        if c is None:
            continue
        t.folds, t.seeds, t.max_folds = folds, seeds, max(max_folds, folds)
        head = f"- {t.dataset} ({t.protocol}), pilot {replicates(c.folds, c.seeds)}: "
        lines.append(head + replication(t, max(1, variants)))
    return "\n".join(lines)
