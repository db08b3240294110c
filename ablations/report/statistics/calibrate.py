"""Calibration of the report's tests by simulation, without training: `python -m ablations.report.statistics.calibrate`.

Synthetic studies with known structure (docs/statistics.md, "Calibration"): clips of actors of folds, each
clip right or wrong with probability sigmoid(mu + actor + clip + fold + variant effect + variant x fold
+ variant x actor + model noise), the model noise drawn per (variant, fold, seed) so that seeds of one fold
share its test clips. Each study compares 8 variants with the reference, like the shipped studies, and
every test is Holm-corrected over the 8. Reported: the false-positive rate with no true effect (per
comparison and family-wise, with Monte-Carlo standard errors) and power against the accuracy difference
for the designs of studies/*.yaml. Everything is vectorised numpy with fixed seeds.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from scipy import stats

from ablations.report.statistics.paired import ALPHA, MIN_TEST_UNITS
from avtca.data.protocols import K_FOLDS

FAMILY = 8  # comparisons with the reference per study (the shipped studies have 8 ablated variants)
ROOT = Path(__file__).resolve().parents[3]
START, END = "<!-- calibration:start -->", "<!-- calibration:end -->"


@dataclass(frozen=True)
class Design:
    """One study design: folds x actors per fold x clips per actor, seeds per (variant, fold)."""

    name: str
    folds: int
    actors: int  # per fold
    clips: int  # per actor
    seeds: int
    note: str = ""


@dataclass(frozen=True)
class Noise:
    """Standard deviations on the logit scale (mu = 0.4: about 60% accuracy)."""

    actor: float = 0.5
    clip: float = 1.0
    fold: float = 0.2
    variant_fold: float = 0.05  # true effect differs a little between test sets
    variant_actor: float = 0.15  # ... and between actors
    model: float = 0.15  # training randomness per (variant, fold, seed): about 3.5 accuracy points


REALISTIC = Noise()
CONDITIONAL = Noise(variant_fold=0.0, model=0.0)  # no training noise: the clip-level test's own null


def shipped_designs(studies: Path = ROOT / "studies") -> list[Design]:
    """The designs of the shipped studies (folds and seeds from their YAML; actors/clips from the datasets)."""
    per_dataset = {"ravdess": (24, 60), "cremad": (91, 82), "mosei": (250, 18)}  # actors, clips per actor
    out = []
    for name in ("quickstart", "ravdess", "cremad", "mosei"):
        path = studies / f"{name}.yaml"
        if not path.is_file():
            continue
        spec = yaml.safe_load(path.read_text())
        data = spec["dataset"]
        k_all = K_FOLDS.get(data.get("protocol", ""), 1)
        folds = k_all if data.get("folds", [0]) == "all" else len(data.get("folds", [0]))
        actors, clips = per_dataset[data["name"]]
        note = ""
        if str(data.get("root")) == "synthetic":
            syn = data.get("options", {}).get("synthetic", {})
            actors = int(syn.get("actors", 12))
            clips = 8 * int(syn.get("statements", 2)) * int(syn.get("repetitions", 1))
            note = "synthetic"
        if data["name"] == "mosei":
            note = "official split, one test set; speakers ~250 x 18 clips assumed; binary Acc-2 simulated"
        out.append(Design(name, folds, max(1, actors // max(k_all, 1)), clips, len(spec.get("seeds", [0])), note))
    return out


def simulate(design: Design, noise: Noise, effects: np.ndarray, studies: int, rng: np.random.Generator):
    """Correctness averaged over seeds, per (study, variant, fold, actor): shape (R, V, K, A), plus per-seed
    fold accuracy (R, V, K, S). effects: (V,) logit shifts of each variant (index 0 = reference, 0)."""
    r, v, k, a, c, s = studies, effects.size, design.folds, design.actors, design.clips, design.seeds
    base = (0.4 + rng.normal(0, noise.actor, (r, 1, k, a, 1)) + rng.normal(0, noise.clip, (r, 1, k, a, c))
            + rng.normal(0, noise.fold, (r, 1, k, 1, 1)))  # fmt: skip
    inter = rng.normal(0, noise.variant_fold, (r, v, k, 1, 1)) + rng.normal(0, noise.variant_actor, (r, v, k, a, 1))
    inter[:, 0] = 0.0  # interactions are relative to the reference
    logit = base + effects[None, :, None, None, None] + inter  # (R, V, K, A, C)
    per_seed = np.empty((r, v, k, s))
    correct = np.zeros((r, v, k, a))
    for seed in range(s):
        model = rng.normal(0, noise.model, (r, v, k, 1, 1))
        right = rng.random((r, v, k, a, c)) < 1.0 / (1.0 + np.exp(-(logit + model)))
        per_seed[..., seed] = right.mean(axis=(3, 4))
        correct += right.sum(axis=4)
    return correct / s, per_seed  # actor sums of seed-averaged correctness, fold accuracy per seed


def holm_reject(p: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Holm step-down rejections along the last axis (NaN p never rejects)."""
    p = np.where(np.isnan(p), 1.0, p)
    m = p.shape[-1]
    order = np.argsort(p, axis=-1)
    sorted_p = np.take_along_axis(p, order, axis=-1)
    ok = sorted_p <= alpha / (m - np.arange(m))
    ok = np.cumprod(ok, axis=-1).astype(bool)  # stop at the first non-rejection
    out = np.zeros_like(ok)
    np.put_along_axis(out, order, ok, axis=-1)
    return out


def study_pvalues(design: Design, actor_sums: np.ndarray, per_seed: np.ndarray, rng: np.random.Generator,
                 flips: int = 2000) -> dict[str, np.ndarray]:  # fmt: skip
    """p-values (R, V-1) of each test for every variant against the reference."""
    k = design.folds
    out: dict[str, np.ndarray] = {}
    cells = per_seed[:, 1:] - per_seed[:, :1]  # (R, V-1, K, S) paired by seed
    flat = cells.reshape(*cells.shape[:2], -1)
    if flat.shape[-1] >= 1:
        # the old test: Wilcoxon over every (seed, fold) cell as if independent (pseudo-replication)
        exact = flat.shape[-1] <= 25
        with np.errstate(all="ignore"):
            res = stats.wilcoxon(flat, axis=-1, method="exact" if exact else "approx", zero_method="wilcox")
        out["wilcoxon over (seed, fold) cells"] = np.where(np.all(flat == 0, axis=-1), 1.0, res.pvalue)
    folds = cells.mean(axis=3)  # seeds averaged within each fold: (R, V-1, K)
    if k >= MIN_TEST_UNITS:
        mean, sd = folds.mean(-1), folds.std(-1, ddof=1)
        with np.errstate(all="ignore"):
            t = mean / (sd / math.sqrt(k))
            out["paired t over folds"] = np.where(sd > 0, 2 * stats.t.sf(np.abs(t), k - 1), 1.0)
            rho = 1.0 / (k - 2) if k > 2 else math.inf
            t_nb = mean / (sd * math.sqrt(1.0 / k + rho))
            out["Nadeau-Bengio t over folds"] = np.where(sd > 0, 2 * stats.t.sf(np.abs(t_nb), k - 1), 1.0)
    diffs = (actor_sums[:, 1:] - actor_sums[:, :1]).reshape(*cells.shape[:2], -1)  # (R, V-1, K*A)
    if diffs.shape[-1] >= 6:
        signs = rng.choice((-1.0, 1.0), size=(flips, diffs.shape[-1]))
        obs = np.abs(diffs.sum(-1))
        perm = np.abs(diffs @ signs.T)  # (R, V-1, flips)
        out["sign-flip over actors"] = (np.sum(perm >= obs[..., None] - 1e-9, axis=-1) + 1) / (flips + 1)
    return out


BATCH_CELLS = 4_000_000  # clip draws per batch (x 8 bytes, a few arrays): keeps memory near 150 MB


def pvalues(design: Design, noise: Noise, effects: np.ndarray, studies: int, rng: np.random.Generator):
    """p-values (studies, V-1) of each test, simulated in batches of studies to bound memory."""
    per_study = effects.size * design.folds * design.actors * design.clips
    batch = max(1, BATCH_CELLS // per_study)
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, studies, batch):
        sums, per_seed = simulate(design, noise, effects, min(batch, studies - start), rng)
        for name, p in study_pvalues(design, sums, per_seed, rng).items():
            parts.setdefault(name, []).append(p)
    return {name: np.concatenate(p) for name, p in parts.items()}


@dataclass(frozen=True)
class Rates:
    """False-positive rates of one test under no effect, with Monte-Carlo standard errors."""

    raw: float  # per comparison, p < alpha before correction
    raw_sd: float  # its MC sd: the per-study fraction's sd / sqrt(studies) (comparisons of a study correlate)
    holm: float  # per comparison after Holm
    family: float  # family-wise after Holm: any of the 8 rejected
    family_sd: float  # MC sd of the family-wise rate at max(rate, alpha)


def false_positives(design: Design, noise: Noise, studies: int, seed: int) -> dict[str, Rates]:
    """Per test: the false-positive rates over `studies` simulated studies with no true effect."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, p in pvalues(design, noise, np.zeros(FAMILY + 1), studies, rng).items():
        raw = np.where(np.isnan(p), False, p < ALPHA).mean(-1)  # per-study fraction of the 8 comparisons
        rej = holm_reject(p)
        fwer = float(rej.any(-1).mean())
        q = max(fwer, ALPHA)
        out[name] = Rates(float(raw.mean()), float(raw.std(ddof=1) / math.sqrt(studies)), float(rej.mean()), fwer,
                          math.sqrt(q * (1 - q) / studies))  # fmt: skip
    return out


def power_curve(design: Design, noise: Noise, points: list[float], studies: int, seed: int):
    """Per test: power (Holm over FAMILY, the others null) at each accuracy difference in points."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[float]] = {}
    for pt in points:
        effects = np.zeros(FAMILY + 1)
        effects[1] = -pt / 100 / 0.24  # logit shift: d(accuracy)/d(logit) = p(1-p) ~ 0.24 at 60%
        for name, p in pvalues(design, noise, effects, studies, rng).items():
            if name.startswith("wilcoxon"):
                continue  # not valid (pseudo-replicated): its power means nothing
            out.setdefault(name, []).append(float(holm_reject(p)[:, 0].mean()))
    return out


def report(designs: list[Design], studies: int, power_studies: int, points: list[float], figure: Path | None) -> str:
    """The Markdown block of docs/statistics.md (and the power figure)."""
    lines = [f"Generated by `python -m ablations.report.statistics.calibrate --write` "
             f"({studies} simulated studies per row, "
             f"{FAMILY} null comparisons each, alpha {ALPHA:g}, Holm over the {FAMILY}; MC sd = Monte-Carlo standard "
             "error).\n",
             "| design | noise | test | per comparison (raw) | MC sd | per comparison (Holm) | family-wise (Holm) | "
             "MC sd | family-wise within alpha + 3 sd |",
             "|---|---|---|---:|---:|---:|---:|---:|:---:|"]  # fmt: skip
    for i, d in enumerate(designs):
        for label, noise in (("realistic", REALISTIC), ("no training noise", CONDITIONAL)):
            for name, r in false_positives(d, noise, studies, seed=100 + i).items():
                ok = "yes" if r.family <= ALPHA + 3 * r.family_sd else "**no**"
                lines.append(f"| {d.name} ({d.folds}x{d.seeds}, {d.folds * d.actors} actors) | {label} | {name} | "
                             f"{r.raw:.4f} | {r.raw_sd:.4f} | {r.holm:.4f} | {r.family:.3f} | {r.family_sd:.3f} | "
                             f"{ok} |")  # fmt: skip
    lines += ["", f"Power (realistic noise, {power_studies} studies per point; Holm over {FAMILY}, the others null):",
              "",
              "| design | test | " + " | ".join(f"{p:g} pt" for p in points) + " |",
              "|---|---|" + "---:|" * len(points)]  # fmt: skip
    curves = {}
    for i, d in enumerate(designs):
        curve = power_curve(d, REALISTIC, points, power_studies, seed=200 + i)
        curves[d.name] = curve
        for name, values in curve.items():
            cells = " | ".join(f"{v:.2f}" for v in values)
            lines.append(f"| {d.name} ({d.folds}x{d.seeds}) | {name} | {cells} |")
    if figure is not None:
        _figure(curves, points, figure)
        lines += ["", f"![power against the accuracy difference]({figure.name})"]
    return "\n".join(lines) + "\n"


def _figure(curves: dict, points: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"paired t over folds": "tab:blue", "Nadeau-Bengio t over folds": "tab:orange",
               "sign-flip over actors": "tab:green"}  # fmt: skip
    fig, axes = plt.subplots(1, len(curves), figsize=(3.2 * len(curves), 3.3), sharey=True, squeeze=False)
    for ax, (name, curve) in zip(axes[0], curves.items(), strict=True):
        for test, values in curve.items():
            invalid = test == "sign-flip over actors"  # anti-conservative under training noise: dashed
            ax.plot(points, values, marker="o", color=colours.get(test), ls="--" if invalid else "-", label=test)
        if not any(k != "sign-flip over actors" for k in curve):
            ax.text(0.5, 0.5, "no calibrated test\n(fewer than 4 folds)", ha="center", va="center",
                    transform=ax.transAxes, fontsize=9)  # fmt: skip
        ax.axhline(0.8, color="grey", lw=0.8, ls=":")
        ax.set_title(name)
        ax.set_xlabel("true accuracy difference (points)")
    axes[0][0].set_ylabel("power (Holm over 8)")
    handles = [plt.Line2D([], [], color=c, marker="o", ls="--" if t.startswith("sign") else "-")
               for t, c in colours.items()]  # fmt: skip
    labels = [t + (" (not calibrated)" if t.startswith("sign") else "") for t in colours]
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Run the calibration; print the Markdown, or write it into docs/statistics.md with --write."""
    p = argparse.ArgumentParser(
        prog="python -m ablations.report.statistics.calibrate", description=__doc__.split("\n")[0]
    )
    p.add_argument("--studies", type=int, default=2000, help="simulated studies per false-positive row")
    p.add_argument("--power-studies", type=int, default=400, help="simulated studies per power point")
    p.add_argument("--write", action="store_true", help="update docs/statistics.md and docs/fig_calibration_power.png")
    args = p.parse_args(argv)
    if args.studies < 10 or args.power_studies < 10:
        p.error("--studies and --power-studies need at least 10 simulated studies")
    designs = shipped_designs()
    points = [0.0, 2.0, 4.0, 6.0, 10.0, 15.0]
    figure = ROOT / "docs" / "fig_calibration_power.png" if args.write else None
    text = report(designs, args.studies, args.power_studies, points, figure)
    if args.write:
        doc = ROOT / "docs" / "statistics.md"
        old = doc.read_text(encoding="utf-8")
        if START not in old or END not in old:
            print(f"error: {doc} has no {START} ... {END} block to replace", file=sys.stderr)
            return 2
        new = old.split(START)[0] + START + "\n" + text + END + old.split(END)[1]
        doc.write_text(new, encoding="utf-8", newline="\n")
        print(f"wrote {doc} and {figure}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
