"""Closed-form queueing formulas (times in ms, rates per ms unless a name says otherwise).

Exact: M/M/c (Erlang C) and M/M/c/K with exponential service, including the sojourn-time
distribution. Approximate (documented): non-exponential service uses the Allen-Cunneen /
Pollaczek-Khinchine factor (1 + cv^2) / 2 on the waiting time, exact in the mean for M/G/1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def erlang_b(c: int, a: float) -> float:
    """Erlang B blocking probability for c servers and offered load a (stable recursion).

    The recursion stops once ``b`` underflows to 0.0, which every later step would keep: the
    result is the same, and a large pool lightly loaded (10,000 connections at a load of 12)
    costs a few hundred steps instead of c.
    """
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
        if b == 0.0:
            break
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c with offered load a = lambda/mu < c."""
    rho = a / c
    if rho >= 1.0:
        return 1.0
    b = erlang_b(c, a)
    return b / (1.0 - rho * (1.0 - b))


def mmck_probs(c: int, a: float, k_wait: int) -> np.ndarray:
    """Stationary probabilities p_0..p_{c+k_wait} of M/M/c/(c+k_wait)."""
    n = c + k_wait
    i = np.arange(1, n + 1)
    la = math.log(a) if a > 0 else -np.inf
    steps = la - np.log(np.minimum(i, c).astype(float))
    logp = np.concatenate(([0.0], np.cumsum(steps)))
    logp -= logp.max()
    p = np.exp(logp)
    return p / p.sum()


def _erlang_tail(k: int, rate: float, t: float) -> float:
    """P(Erlang(k, rate) > t) = sum_{i<k} e^{-rt} (rt)^i / i!."""
    x = rate * t
    if x == 0.0:
        return 1.0
    term = math.exp(-x)
    s = term
    for i in range(1, k):
        term *= x / i
        s += term
    return min(1.0, s)


def _erlang_plus_exp_tail(k: int, a: float, b: float, t: float) -> float:
    """P(Erlang(k, a) + Exp(b) > t) for a > b (or the Erlang(k+1) case a == b)."""
    if abs(a - b) < 1e-12 * a:
        return _erlang_tail(k + 1, a, t)
    cdf_shift = 1.0 - _erlang_tail(k, a - b, t)
    if cdf_shift <= 0.0:
        return _erlang_tail(k, a, t)
    log_term = -b * t + k * math.log(a / (a - b)) + math.log(cdf_shift)
    return _erlang_tail(k, a, t) + math.exp(min(log_term, 700.0))


@dataclass
class Station:
    """Steady state of one station (a replica, or a pooled group)."""

    lam: float  # offered arrivals per ms
    service_ms: float
    servers: int
    k_wait: int | None  # waiting places, None = unbounded
    cv: float = 1.0  # coefficient of variation of service (1 = exponential)
    dist: str = "exponential"
    stable: bool = True
    block: float = 0.0
    util: float = 0.0
    offered_util: float = 0.0
    mean_wait: float = 0.0
    mean_sojourn: float = 0.0
    mean_queue: float = 0.0
    mean_in_system: float = 0.0
    p_wait: float = 0.0
    wait_probs: np.ndarray | None = None  # for M/M/c/K: P(n in system seen | admitted)

    def __post_init__(self) -> None:
        lam, s, c = self.lam, self.service_ms, self.servers
        a = lam * s
        self.offered_util = a / c if c else 0.0
        if s <= 0.0 or lam <= 0.0:
            self.mean_sojourn = max(s, 0.0)
            return
        mu = 1.0 / s
        factor = (1.0 + self.cv**2) / 2.0
        if self.k_wait is not None and a < c * 0.999:
            # a queue limit that (almost) never binds: M/M/c/K equals M/M/c to ~1e-13, and
            # the M/M/c closed forms are much cheaper
            if self.k_wait * math.log(a / c) < -40 or mmck_probs(c, a, self.k_wait)[-1] < 1e-14:
                self.k_wait = None
        if self.k_wait is None:
            if a >= c * (1 - 1e-12):
                self.stable = False
                self.util = 1.0
                self.mean_wait = math.inf
                self.mean_sojourn = math.inf
                self.mean_queue = math.inf
                self.mean_in_system = math.inf
                self.p_wait = 1.0
                return
            pw = erlang_c(c, a)
            wq = pw / (c * mu - lam) * factor
            self.p_wait = pw
            self.util = a / c
        else:
            p = mmck_probs(c, a, self.k_wait)
            n = np.arange(len(p))
            self.block = float(p[-1])
            lam_eff = lam * (1.0 - self.block)
            lq = float(np.sum(np.maximum(n - c, 0) * p))
            wq = lq / lam_eff * factor if lam_eff > 0 else 0.0
            self.util = lam_eff * s / c
            q = p[:-1] / (1.0 - self.block)
            self.wait_probs = q
            self.p_wait = float(q[c:].sum())
        self.mean_wait = wq
        self.mean_sojourn = wq + s
        lam_eff = lam * (1.0 - self.block)
        self.mean_queue = lam_eff * wq
        self.mean_in_system = lam_eff * (wq + s)

    # --- sojourn distribution -------------------------------------------------------------
    def sojourn_tail(self, t: float) -> float:
        """P(sojourn > t), exact for exponential service."""
        mu = 1.0 / self.service_ms
        c = self.servers
        if self.k_wait is None:
            theta = c * mu - self.lam
            pw = self.p_wait
            if abs(theta - mu) < 1e-12 * mu:
                both = math.exp(-mu * t) * (1.0 + mu * t)
            else:
                both = (theta * math.exp(-mu * t) - mu * math.exp(-theta * t)) / (theta - mu)
            return (1.0 - pw) * math.exp(-mu * t) + pw * both
        q = self.wait_probs
        tail = float(q[:c].sum()) * math.exp(-mu * t)
        for n in range(c, self._nmax()):
            if q[n] > 1e-15:
                tail += q[n] * _erlang_plus_exp_tail(n - c + 1, c * mu, mu, t)
        return tail

    def _nmax(self) -> int:
        if getattr(self, "_nmax_cache", None) is None:
            q = self.wait_probs
            nz = np.nonzero(q > 1e-16)[0]
            self._nmax_cache = int(nz[-1]) + 1 if len(nz) else len(q)
        return self._nmax_cache

    def sojourn_quantile(self, p: float) -> float | None:
        """p-quantile of the sojourn time; exact (bisection to 1e-9) for exponential service."""
        if not self.stable:
            return None
        if self.service_ms <= 0.0:
            return 0.0
        if self.lam <= 0.0:
            return _service_quantile(self.service_ms, self.dist, self.cv, p)
        if self.dist != "exponential" or (
            self.k_wait is not None and self._nmax() - self.servers > 1500
        ):
            rng = np.random.default_rng(12345)
            x = self.sample_sojourn(rng, 200_000)
            return float(np.quantile(x, p))
        lo, hi = 0.0, self.service_ms
        while self.sojourn_tail(hi) > 1.0 - p:
            hi *= 2.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if self.sojourn_tail(mid) > 1.0 - p:
                lo = mid
            else:
                hi = mid
            if hi - lo <= 1e-12 * max(hi, 1e-9):
                break
        return 0.5 * (lo + hi)

    def sample_sojourn(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw sojourn times (ms) from the station's stationary distribution."""
        svc = sample_service(rng, n, self.service_ms, self.dist, self.cv)
        if self.service_ms <= 0.0 or self.lam <= 0.0:
            return svc
        c, mu = self.servers, 1.0 / self.service_ms
        factor = (1.0 + self.cv**2) / 2.0
        if self.k_wait is None:
            waits = rng.random(n) < self.p_wait
            w = np.zeros(n)
            if self.p_wait > 0:
                mean = self.mean_wait / self.p_wait
                w[waits] = rng.exponential(mean, int(waits.sum()))
            return svc + w
        q = self.wait_probs
        seen = rng.choice(len(q), size=n, p=q / q.sum())
        k = np.maximum(seen - c + 1, 0)
        w = np.zeros(n)
        m = k > 0
        if m.any():
            w[m] = rng.gamma(k[m], 1.0 / (c * mu)) * factor
        return svc + w


def _service_quantile(mean: float, dist: str, cv: float, p: float) -> float:
    if dist == "deterministic" or (dist == "lognormal" and cv == 0):
        return mean
    if dist == "exponential":
        return -mean * math.log(1.0 - p)
    rng = np.random.default_rng(12345)
    return float(np.quantile(sample_service(rng, 200_000, mean, dist, cv), p))


def sample_service(rng: np.random.Generator, n: int, mean: float, dist: str, cv: float):
    """Service times (ms) with the given mean and distribution."""
    if mean <= 0.0:
        return np.zeros(n)
    if dist == "exponential":
        return rng.exponential(mean, n)
    if dist == "deterministic" or cv <= 0.0:
        return np.full(n, mean)
    s2 = math.log(1.0 + cv * cv)
    return rng.lognormal(math.log(mean) - s2 / 2.0, math.sqrt(s2), n)


def dist_cv(dist: str, cv: float) -> float:
    return {"exponential": 1.0, "deterministic": 0.0}.get(dist, cv)
