"""Cost against accuracy: which variants no other beats on both (the Pareto front)."""

from __future__ import annotations

import math


def pareto_front(costs: list[float], scores: list[float], higher_is_better: bool = True) -> list[int]:
    """Indices of the points no other point dominates (cost no higher and score no worse, one of them strictly);
    points with a NaN are on no front."""
    sign = 1.0 if higher_is_better else -1.0
    points = [(c, sign * s) for c, s in zip(costs, scores, strict=True)]
    front = []
    for i, (c, s) in enumerate(points):
        if math.isnan(c) or math.isnan(s):
            continue
        dominated = any(
            (c2 <= c and s2 >= s and (c2 < c or s2 > s))
            for j, (c2, s2) in enumerate(points)
            if j != i and not (math.isnan(c2) or math.isnan(s2))
        )
        if not dominated:
            front.append(i)
    return front
