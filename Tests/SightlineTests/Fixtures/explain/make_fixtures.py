#!/usr/bin/env python3
"""Reference values for ExplainChangeTests (writes fixtures.json beside this script).

The shift-share split is computed here in exact rational arithmetic (fractions), straight
from the formula in docs/kpis.md, "Explaining a change": for a ratio R = sum(w_k r_k),
dR = sum(wbar_k dr_k) (rate) + sum((rbar_k - Rbar) dw_k) (mix); a segment seen on one side
only contributes w (r - Rbar), with the sign of its side, as mix. p-values come from scipy
(ttest_ind_from_stats for Welch, false_discovery_control for Benjamini-Hochberg); the mix
counterfactual with unchanged weights equals numpy's percentile.

Run: python3 make_fixtures.py   (numpy, scipy)
"""
import json
import os
from fractions import Fraction as F

import numpy as np
from scipy import stats


def shift_share(baseline, current):
    """baseline/current: {value: (count, sum)} -> (R1, R2, {value: (rate, mix, presence)})."""
    values = sorted(set(baseline) | set(current))
    n1 = sum(F(c) for c, _ in baseline.values())
    n2 = sum(F(c) for c, _ in current.values())
    r1 = sum(F(s) for _, s in baseline.values()) / n1
    r2 = sum(F(s) for _, s in current.values()) / n2
    rbar = (r1 + r2) / 2
    out = {}
    for v in values:
        c1, s1 = baseline.get(v, (0, 0))
        c2, s2 = current.get(v, (0, 0))
        w1, w2 = F(c1) / n1, F(c2) / n2
        if c1 and c2:
            a, b = F(s1) / c1, F(s2) / c2
            out[v] = ((w1 + w2) / 2 * (b - a), ((a + b) / 2 - rbar) * (w2 - w1), "both")
        elif c2:
            out[v] = (F(0), w2 * (F(s2) / c2 - rbar), "entering")
        else:
            out[v] = (F(0), -w1 * (F(s1) / c1 - rbar), "leaving")
    assert sum(r + m for r, m, _ in out.values()) == r2 - r1  # exact
    return r1, r2, out


def case(name, baseline, current):
    r1, r2, effects = shift_share(baseline, current)
    return {
        "name": name,
        "baseline": {v: list(cs) for v, cs in baseline.items()},
        "current": {v: list(cs) for v, cs in current.items()},
        "r1": float(r1), "r2": float(r2), "change": float(r2 - r1),
        "effects": {v: {"rate": float(r), "mix": float(m), "presence": p} for v, (r, m, p) in effects.items()},
    }


fixtures = {
    "shift_share": [
        # Every segment improves, yet the total falls: the mix moved to the low-scoring
        # segment (Simpson's paradox).
        case("pure_mix", {"A": (80, 72), "B": (20, 10)}, {"A": (20, 19), "B": (80, 44)}),
        # Only B changes; shares stay: B carries the whole change as rate.
        case("one_segment", {"A": (100, 50), "B": (100, 50)}, {"A": (100, 50), "B": (100, 30)}),
        # C appears only in the current period; B leaves in another case.
        case("entering", {"A": (50, 40), "B": (50, 20)}, {"A": (50, 40), "B": (50, 20), "C": (50, 40)}),
        case("leaving", {"A": (50, 40), "B": (50, 20), "C": (25, 5)}, {"A": (60, 45), "B": (40, 22)}),
    ],
}

# Welch's t-test from count, sum and sum of squares.
rng = np.random.default_rng(2026)
welch = []
for n1, n2 in [(12, 15), (40, 33), (200, 180), (5, 9)]:
    a = rng.gamma(2.0, 300.0, n1).round()
    b = rng.gamma(2.3, 280.0, n2).round()
    t, p = stats.ttest_ind_from_stats(a.mean(), a.std(ddof=1), n1, b.mean(), b.std(ddof=1), n2, equal_var=False)
    welch.append({
        "control": [float(n1), float(a.sum()), float((a * a).sum())],
        "treatment": [float(n2), float(b.sum()), float((b * b).sum())],
        "t": float(-t), "p": float(p),
    })
fixtures["welch_from_stats"] = welch

fixtures["benjamini_hochberg"] = []
for ps in [[0.01, 0.04, 0.03, 0.2], [0.5, 0.001, 0.049, 0.9, 0.02]]:
    fixtures["benjamini_hochberg"].append({"p": ps, "adjusted": [float(x) for x in stats.false_discovery_control(ps)]})

# With each segment's weight equal to its count share, the mixture quantile is numpy's.
segments = [rng.integers(1, 5000, size) * 1000 for size in (7, 12, 30)]
allv = np.concatenate(segments) / 1000.0
fixtures["mixture_same_weights"] = {
    "segments_ms": [s.tolist() for s in segments],
    "q50": float(np.percentile(allv, 50)), "q90": float(np.percentile(allv, 90)),
}

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures.json"), "w") as f:
    json.dump(fixtures, f, indent=1, sort_keys=True)
    f.write("\n")
