"""`python -m ablations.report SOURCE` (a study name or a runs.csv) and `python -m ablations.report --paper`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ablations.masking import mask
from ablations.report.build import FORMATS, render
from ablations.report.read.load import ReportInputError
from ablations.report.rendering.paper import REFERENCES, render_paper
from ablations.report.statistics.paired import DEFAULT_TEST, TESTS
from avtca.config.base import ConfigError


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(
        prog="python -m ablations.report",
        description="Render a study's tables, statistics and figures into reports/<study>/, "
        "or the paper tables with --paper.",
    )
    p.add_argument("source", nargs="?", help="a study name (read from MLflow) or an exported reports/<study>/runs.csv")
    p.add_argument("--out", default=None, help="output folder (default reports/, or reports/paper with --paper)")
    p.add_argument("--format", default=",".join(FORMATS), help="comma list of md,tex,csv,png (default: all)")
    p.add_argument("--tracking-uri", default=None, help="default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db")
    p.add_argument("--reference", default=None, help="compare against this variant instead of the one marked reference")
    p.add_argument(
        "--test",
        default=DEFAULT_TEST,
        choices=sorted(TESTS),
        help="fold-level paired test: t (default), nb (Nadeau-Bengio corrected t) or wilcoxon",
    )
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
        if args.paper:
            out = Path(args.out) if args.out else Path("reports/paper")
            reports = Path(args.reports) if args.reports else out.parent
            fmts = [f for f in args.format.split(",") if f in ("md", "tex")]
            folder, text = render_paper(reports, out, fmts, args.references or REFERENCES, args.test)
            print(text)
            print(f"paper tables: {folder}")
            return 0
        if not args.source:
            print("error: give SOURCE (a study name or a runs.csv) or --paper", file=sys.stderr)
            return 2
        folder = render(args.source, out=args.out or "reports", formats=args.format,
                        tracking_uri=args.tracking_uri, reference=args.reference, test=args.test,
                        all_cells=args.all_cells)  # fmt: skip
    except (ReportInputError, ConfigError) as err:
        print(f"error: {mask(err)}", file=sys.stderr)
        return 2
    print(f"report: {folder} (index: {folder.parent / 'README.md'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
