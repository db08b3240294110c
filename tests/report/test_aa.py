"""The A/A measurement's estimator on simulated A/A exports with known shares (python -m ...statistics.aa)."""

from __future__ import annotations

import numpy as np
import pytest

from ablations.report.statistics import aa
from ablations.report.statistics.simulate import Design, Model, Shares, aa_runs


def _export(folder, name, design, shares, rng):
    runs = aa_runs(Model(design, np.array([0.6])), shares, rng)
    value = runs["test/accuracy"].clip(0, 1)
    runs = runs.assign(study=name, dataset="ravdess", protocol="actor6fold", subject_independent=True,
                       reference=True, state="FINISHED", seconds=9.0, **{"test/accuracy": value, "test/uar": value,
                       "test/f1_macro": value, "test/f1_weighted": value})  # fmt: skip
    (folder / name).mkdir(parents=True)
    runs.to_csv(folder / name / "runs.csv", index=False)


def test_a_seed_term_shared_by_all_folds_is_measured_and_per_fold_seeding_removes_it(tmp_path, capsys):
    rng = np.random.default_rng(7)
    shared = Shares(train=0.15, seed=0.4)
    _export(tmp_path, "aa_shared_init", Design("aa", 24, 6, seeds=8), shared, rng)
    _export(tmp_path, "aa_per_fold_init", Design("aa", 24, 6, seeds=8, independent_init=True), shared, rng)
    _export(tmp_path, "aa_reshuffled", Design("aa", 24, 6, seeds=1, repeats=8, independent_init=True), shared, rng)
    est = aa.estimates(aa.load(tmp_path))
    assert est[("shared", "train")].shares.seed > 0.2 > est[("per_fold", "train")].shares.seed
    assert est[("shared", "coupling")].shares.coupling <= est[("shared", "train")].shares.train  # the two bounds
    assert aa.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| `aa_shared_init` | 48 | 8 x 6 |" in out and "`train=" in out and "| per_fold | coupling |" in out
    assert aa.main([str(tmp_path / "none")]) == 2
    assert "file not found" in capsys.readouterr().err


@pytest.mark.parametrize("seeding", ["shared", "per_fold", "pooled"])
def test_reshuffled_runs_count_as_their_own_seed_only_under_shared_seeding(tmp_path, seeding):
    rng = np.random.default_rng(0)
    for name, design in (("aa_shared_init", Design("aa", 24, 6, seeds=2)),
                         ("aa_per_fold_init", Design("aa", 24, 6, seeds=2, independent_init=True)),
                         ("aa_reshuffled", Design("aa", 24, 6, seeds=1, repeats=2, independent_init=True))):  # fmt: skip
        _export(tmp_path, name, design, Shares(), rng)
    cells = aa.combined(aa.load(tmp_path), seeding)
    reshuffled = cells.iloc[12:24]
    assert len(cells) == (36 if seeding == "pooled" else 24)
    assert reshuffled["seed"].nunique() == (1 if seeding == "per_fold" else 12)
    if seeding == "pooled":  # per-fold runs are their own seeds; the shared runs keep theirs
        assert cells.iloc[24:]["seed"].nunique() == 12 and cells.iloc[:12]["seed"].nunique() == 2
