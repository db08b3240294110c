"""`python -m ablations.report SOURCE` (a study name or a runs.csv), `python -m ablations.report A B C` (one ablation
table across several studies, one per dataset) and `python -m ablations.report --paper`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ablations.masking import mask
from ablations.report.build import FORMATS, render, render_across
from ablations.report.compare.settings import ADJUST, DEFAULT_TEST, TESTS, Settings
from ablations.report.read.load import ReportInputError
from ablations.report.rendering.paper import REFERENCES, render_paper
from ablations.report.statistics.equivalence import DEFAULT_ADJUST
from avtca.config.base import ConfigError


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(
        prog="python -m ablations.report",
        description="Render a study's tables, statistics and figures into reports/<study>/; with several sources, "
        "one ablation table across them (a column per dataset); or the paper tables with --paper.",
    )
    p.add_argument("source", nargs="*", help="a study name (read from MLflow) or an exported reports/<study>/runs.csv;"
                   " several: one ablation table across them")  # fmt: skip
    p.add_argument("--out", default=None, help="output folder (default reports/; reports/ablation with several "
                   "sources; reports/paper with --paper)")  # fmt: skip
    p.add_argument("--format", default=",".join(FORMATS), help="comma list of md,tex,csv,png (default: all)")
    p.add_argument("--tracking-uri", default=None, help="default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db")
    p.add_argument("--reference", default=None, help="compare against this variant instead of the one marked reference")
    p.add_argument(
        "--test",
        default=DEFAULT_TEST,
        choices=list(TESTS),
        help="test over units: corrected (default; Nadeau-Bengio corrected t, Bouckaert-Frank over repeats), "
        "t (plain paired t: assumes independent units, liberal) or wilcoxon (no interval or equivalence)",
    )
    p.add_argument(
        "--adjust",
        default=DEFAULT_ADJUST,
        choices=list(ADJUST),
        help="multiplicity across a metric's comparisons: bonferroni (default; simultaneous intervals) or holm",
    )
    p.add_argument(
        "--margin",
        type=float,
        default=None,
        help="smallest difference that matters, in the primary metric's units (2 = 2 percentage points; "
        "0 = none); default 2 points (0.02 for MAE and Corr); overrides the study file's report.margin",
    )
    p.add_argument("--metric", default=None, help="primary metric of the main table (e.g. uar); default: the study's "
                   "report.metric, else its objective's metric, else the task's main metric")  # fmt: skip
    p.add_argument(
        "--all-cells",
        action="store_true",
        help="also report runs of cells no longer in the study (after its seeds or variants changed)",
    )
    p.add_argument("--paper", action="store_true", help="render the state-of-the-art and ablation tables")
    p.add_argument("--reports", default=None, help="with --paper: the studies' folder (default: parent of --out)")
    p.add_argument("--references", default=None, help="with --paper: references YAML (default: the shipped one)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, render, print where the output went; exit 2 on invalid input, 1 on other failures."""
    args = parser().parse_args(argv)
    if args.out and Path(args.out).exists() and not Path(args.out).is_dir():
        print(f"error: --out {args.out} is a file; give a folder (created when missing)", file=sys.stderr)
        return 2
    try:
        settings = Settings(args.test, args.adjust, args.margin, args.metric, None, args.reference)
        if args.paper:
            out = Path(args.out) if args.out else Path("reports/paper")
            reports = Path(args.reports) if args.reports else out.parent
            fmts = [f for f in args.format.split(",") if f in ("md", "tex")]
            folder, text = render_paper(reports, out, fmts, args.references or REFERENCES, settings=settings)
            print(text)
            print(f"paper tables: {folder}")
            return 0
        if not args.source:
            print("error: give SOURCE (a study name or a runs.csv; several for one table across them) or --paper",
                  file=sys.stderr)  # fmt: skip
            return 2
        if len(args.source) > 1:
            folder = render_across(args.source, args.out or "reports/ablation", args.format, args.tracking_uri,
                                   settings, args.all_cells)  # fmt: skip
            print(f"ablation table across {len(args.source)} studies: {folder / 'ablation.md'}")
            return 0
        folder = render(args.source[0], out=args.out or "reports", formats=args.format,
                        tracking_uri=args.tracking_uri, reference=args.reference, test=args.test,
                        all_cells=args.all_cells, margin=args.margin, metric=args.metric,
                        adjust=args.adjust)  # fmt: skip
    except (ReportInputError, ConfigError) as err:
        print(f"error: {mask(err)}", file=sys.stderr)
        return 2
    print(f"report: {folder} (index: {folder.parent / 'README.md'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
