#!/usr/bin/env python3
"""Reference values for Sightline's statistics, computed with scipy and statsmodels.

Run from this directory:  python3 make_fixtures.py > fixtures.json
Versions used for the committed file are recorded in it. The Swift tests
(StatisticsFixtureTests.swift) recompute every value and compare to 1e-9 relative
(1e-12 absolute) unless a case says otherwise.
"""
import json

import numpy as np
import scipy
import statsmodels
from scipy import integrate, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

rng = np.random.default_rng(20260301)
out = {"versions": {"numpy": np.__version__, "scipy": scipy.__version__, "statsmodels": statsmodels.__version__}}

out["normal"] = [{"x": x, "cdf": stats.norm.cdf(x), "pdf": stats.norm.pdf(x)} for x in [-6.5, -3.1, -1.0, 0.0, 0.3, 1.96, 4.2]]
out["normal_quantile"] = [{"p": p, "q": stats.norm.ppf(p)} for p in [1e-10, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999999]]
out["t"] = [
    {"x": x, "df": df, "cdf": stats.t.cdf(x, df), "two_sided_p": 2 * stats.t.sf(abs(x), df)}
    for x, df in [(-4.0, 3), (-1.2, 7.5), (0.4, 1), (2.1, 18.37), (3.3, 120.0), (8.0, 4.2)]
]
out["t_quantile"] = [{"p": p, "df": df, "q": stats.t.ppf(p, df)} for p, df in [(0.975, 3), (0.975, 9.81), (0.025, 17.2), (0.9, 1.5), (0.999, 40)]]
out["chi2"] = [{"x": x, "df": df, "sf": stats.chi2.sf(x, df)} for x, df in [(0.5, 1), (3.84, 1), (12.0, 1), (30.0, 1), (7.0, 3)]]
out["binomial"] = [
    {"k": k, "n": n, "p": p, "sf": stats.binom.sf(k - 1, n, p), "cdf": stats.binom.cdf(k, n, p)}
    for k, n, p in [(0, 10, 0.3), (3, 40, 0.012), (7, 40, 0.05), (12, 40, 0.061), (20, 50, 0.5), (2, 30, 0.2), (40, 40, 0.9), (41, 40, 0.5)]
]

def arm(n, mean, sd):
    return [float(v) for v in rng.normal(mean, sd, n)]

welch = []
for nc, nt, shift in [(10, 10, 0.5), (8, 12, -0.3), (25, 40, 0.05), (3, 5, 2.0), (200, 180, 0.1)]:
    c, t = arm(nc, 10, 2), arm(nt, 10 + shift, 3)
    r = stats.ttest_ind(t, c, equal_var=False)
    ci = r.confidence_interval(0.95)
    welch.append({"control": c, "treatment": t, "t": r.statistic, "p": r.pvalue, "df": r.df, "ci": [ci.low, ci.high]})
out["welch"] = welch

props = []
for xc, nc, xt, nt in [(120, 1000, 150, 1000), (30, 400, 22, 380), (5, 60, 9, 55), (4800, 60000, 5100, 61000)]:
    z, p = proportions_ztest([xt, xc], [nt, nc])
    low, high = confint_proportions_2indep(xt, nt, xc, nc, method="wald", compare="diff")
    props.append({"xc": xc, "nc": nc, "xt": xt, "nt": nt, "z": z, "p": p, "ci": [low, high]})
out["two_proportion"] = props

def delta_ratio(units):
    y = np.array([u[0] for u in units]); x = np.array([u[1] for u in units])
    r = y.sum() / x.sum()
    var = (np.var(y, ddof=1) - 2 * r * np.cov(x, y, ddof=1)[0, 1] + r * r * np.var(x, ddof=1)) / (len(x) * x.mean() ** 2)
    return r, var

ratios = []
for n in [(10, 10), (6, 9)]:
    units = []
    for size, rate in [(n[0], 0.78), (n[1], 0.82)]:
        denominators = rng.integers(50, 400, size)
        units.append([[float(rng.binomial(d, rate)), float(d)] for d in denominators])
    rc, vc = delta_ratio(units[0]); rt, vt = delta_ratio(units[1])
    se = np.sqrt(vc + vt); t = (rt - rc) / se
    # Welch-Satterthwaite degrees of freedom for the small-sample interval.
    df = (vc + vt) ** 2 / (vc ** 2 / (n[0] - 1) + vt ** 2 / (n[1] - 1))
    q = stats.t.ppf(0.975, df)
    ratios.append({"control": units[0], "treatment": units[1], "control_ratio": rc, "treatment_ratio": rt, "se": se,
                   "df": df, "p": 2 * stats.t.sf(abs(t), df), "ci": [rt - rc - q * se, rt - rc + q * se]})
out["delta_ratio"] = ratios

prepost = []
for nc, nt, effect in [(10, 10, 0.8), (7, 13, -0.5), (40, 40, 0.2)]:
    base_c = rng.normal(50, 10, nc); base_t = rng.normal(50, 10, nt)
    c = [[float(b), float(b + rng.normal(1, 3))] for b in base_c]
    t = [[float(b), float(b + rng.normal(1 + effect, 3))] for b in base_t]
    allp = np.array([u for u in c + t])
    theta = np.cov(allp[:, 0], allp[:, 1], ddof=1)[0, 1] / np.var(allp[:, 0], ddof=1)
    mx = allp[:, 0].mean()
    adj = lambda units: [u[1] - theta * (u[0] - mx) for u in units]
    rc = stats.ttest_ind(adj(t), adj(c), equal_var=False); cic = rc.confidence_interval(0.95)
    rd = stats.ttest_ind([u[1] - u[0] for u in t], [u[1] - u[0] for u in c], equal_var=False); cid = rd.confidence_interval(0.95)
    prepost.append({"control": c, "treatment": t, "theta": theta,
                    "cuped": {"effect": float(np.mean(adj(t)) - np.mean(adj(c))), "p": rc.pvalue, "ci": [cic.low, cic.high]},
                    "did": {"effect": float(np.mean([u[1] - u[0] for u in t]) - np.mean([u[1] - u[0] for u in c])), "p": rd.pvalue, "ci": [cid.low, cid.high]}})
out["pre_post"] = prepost

perms = []
for nc, nt, shift in [(5, 5, 1.0), (4, 6, 0.0), (10, 10, 0.6), (3, 3, 5.0)]:
    c, t = arm(nc, 0, 1), arm(nt, shift, 1)
    r = stats.permutation_test((t, c), lambda a, b, axis: np.mean(a, axis=axis) - np.mean(b, axis=axis),
                               permutation_type="independent", n_resamples=np.inf, alternative="two-sided", vectorized=True)
    perms.append({"control": c, "treatment": t, "statistic": r.statistic, "p": r.pvalue})
out["permutation"] = perms

out["srm"] = []
for c, t, share in [(5000, 5000, 0.5), (4890, 5110, 0.5), (3050, 6950, 0.7), (100, 160, 0.5)]:
    r = stats.chisquare([c, t], [(c + t) * (1 - share), (c + t) * share])
    out["srm"].append({"control": c, "treatment": t, "share": share, "chi2": r.statistic, "p": r.pvalue})

pv = [0.001, 0.04, 0.03, 0.2, 0.012, 0.5]
out["multiplicity"] = {"p": pv, "holm": list(multipletests(pv, method="holm")[1]), "bh": list(multipletests(pv, method="fdr_bh")[1])}

out["mde"] = []
for sd, nc, nt, alpha, power in [(2.0, 10, 10, 0.05, 0.8), (0.05, 500, 480, 0.05, 0.9), (15.0, 6, 14, 0.1, 0.8)]:
    # statsmodels' own solve_power stops early (its power at the answer is off by up to 4e-6),
    # so the reference root is found with brentq, tightly, on statsmodels' power function.
    from scipy import optimize
    d = optimize.brentq(lambda e: NormalIndPower().power(e, nt, alpha, ratio=nc / nt) - power, 1e-9, 50, xtol=1e-15, rtol=1e-15)
    out["mde"].append({"sd": sd, "nc": nc, "nt": nt, "alpha": alpha, "power": power, "mde": d * sd})

def msprt(effect, v, tau2, alpha=0.05):
    lr = np.sqrt(v / (v + tau2)) * np.exp(tau2 * effect ** 2 / (2 * v * (v + tau2)))
    half = np.sqrt(v * (v + tau2) / tau2 * (np.log((v + tau2) / v) - 2 * np.log(alpha)))
    return min(1.0, 1 / lr), effect - half, effect + half
out["msprt"] = []
for effect, v, tau2 in [(0.5, 0.04, 0.25), (-0.02, 0.0004, 0.0001), (3.0, 1.0, 4.0)]:
    p, lo, hi = msprt(effect, v, tau2)
    out["msprt"].append({"effect": effect, "variance": v, "tau2": tau2, "p": p, "ci": [lo, hi]})

out["bayes"] = []
for effect, se, up in [(0.3, 0.2, True), (0.3, 0.2, False), (-1.5, 0.5, True), (0.0, 1.0, True)]:
    gain = effect if up else -effect
    prob = stats.norm.sf(0, loc=gain, scale=se)
    loss = integrate.quad(lambda g: max(0.0, -g) * stats.norm.pdf(g, gain, se), gain - 12 * se, gain + 12 * se, points=[0.0], epsabs=1e-13, epsrel=1e-12)[0]
    out["bayes"].append({"effect": effect, "se": se, "higher_is_better": up, "probability": prob, "loss": loss})

def clean(o):
    if isinstance(o, dict): return {k: clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)): return [clean(v) for v in o]
    if isinstance(o, (np.floating, np.integer)): return float(o)
    return o

print(json.dumps(clean(out), indent=1))
