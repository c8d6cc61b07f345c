"""Failure schedule for the DES: which replica is down when, lags, surges, cold caches.

Times are ms in simulated time; 0 is the start of the measured window.
"""

from __future__ import annotations

import numpy as np

from .constants import DETECTION_DELAY_S
from .model import Design

INF = 1e18


class Schedule:
    def __init__(self, design: Design, failures: list[dict]):
        self.design = design
        self.failures = failures
        self.detect_ms = DETECTION_DELAY_S * 1000.0
        # comp index -> list of (instance, t0, t1)
        self.down: dict[int, list[tuple[int, float, float]]] = {}
        self.lag: dict[int, list[tuple[float, float, float]]] = {}
        self.surge: list[tuple[float, float, float]] = []
        self.cold: dict[int, list[tuple[float, float]]] = {}
        self.failed_comps: dict[int, set[int]] = {}  # failure number -> comps directly hit
        for n, f in enumerate(failures):
            t0 = float(f.get("at_s", 0.0)) * 1000.0
            t1 = t0 + float(f["for_s"]) * 1000.0 if f.get("for_s") else INF
            hit: set[int] = set()
            mode = f["mode"]
            if mode == "node-down":
                c = design.component(f["component_id"])
                k = f.get("replicas") or c.instance_count
                for j in range(min(k, c.instance_count)):
                    self.down.setdefault(c.index, []).append((j, t0, t1))
                hit.add(c.index)
            elif mode in ("az-down", "region-down"):
                for c in design.components:
                    if c.type == "client" or c.region != f["region"]:
                        continue
                    for j in range(c.instance_count):
                        if mode == "region-down" or c.instance_az(j) == f["az"]:
                            self.down.setdefault(c.index, []).append((j, t0, t1))
                            hit.add(c.index)
            elif mode == "dependency-lag":
                c = design.component(f["component_id"])
                self.lag.setdefault(c.index, []).append((t0, t1, float(f["lag_ms"])))
                hit.add(c.index)
            elif mode == "traffic-surge":
                self.surge.append((t0, t1, float(f["multiplier"])))
            elif mode == "cache-cold":
                c = design.component(f["component_id"])
                self.cold.setdefault(c.index, []).append((t0, float(f.get("warm_s", 60)) * 1e3))
                hit.add(c.index)
            self.failed_comps[n] = hit

    # --- queries ---------------------------------------------------------------------------
    def instance_intervals(self, ci: int, j: int) -> list[tuple[float, float]]:
        iv = sorted((t0, t1) for (jj, t0, t1) in self.down.get(ci, []) if jj == j)
        merged: list[list[float]] = []
        for t0, t1 in iv:
            if merged and t0 <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], t1)
            else:
                merged.append([t0, t1])
        return [(a, b) for a, b in merged]

    def rate_multiplier(self, t_ms: np.ndarray) -> np.ndarray:
        m = np.ones_like(t_ms)
        for t0, t1, mult in self.surge:
            m[(t_ms >= t0) & (t_ms < t1)] *= mult
        return m

    def lag_ms(self, ci: int, t: np.ndarray) -> np.ndarray | float:
        if ci not in self.lag:
            return 0.0
        out = np.zeros(len(t))
        for t0, t1, lag in self.lag[ci]:
            out[(t >= t0) & (t < t1)] += lag
        return out

    def hit_ratio(self, ci: int, h: float, t: np.ndarray) -> np.ndarray | float:
        if ci not in self.cold:
            return h
        out = np.full(len(t), h)
        for t0, warm in self.cold[ci]:
            m = t >= t0
            frac = np.clip((t[m] - t0) / warm, 0.0, 1.0) if warm > 0 else 1.0
            out[m] = np.minimum(out[m], h * frac)
        return out

    def all_down_detected(self, ci: int, n_inst: int, t: np.ndarray) -> np.ndarray:
        """True where every instance of the component is down and the routers know it."""
        if ci not in self.down:
            return np.zeros(len(t), dtype=bool)
        ok = np.zeros(len(t), dtype=bool)
        for j in range(n_inst):
            known_down = np.zeros(len(t), dtype=bool)
            for t0, t1 in self.instance_intervals(ci, j):
                known_down |= (t >= t0 + self.detect_ms) & (t < t1 + self.detect_ms)
            ok |= ~known_down
        return ~ok

    def change_points(self, ci: int) -> list[float]:
        pts = set()
        for _, t0, t1 in self.down.get(ci, []):
            pts.add(t0 + self.detect_ms)
            if t1 < INF:
                pts.add(t1 + self.detect_ms)
        return sorted(pts)

    def known_down_at(self, ci: int, j: int, t: float) -> bool:
        return any(
            t0 + self.detect_ms <= t < t1 + self.detect_ms
            for t0, t1 in self.instance_intervals(ci, j)
        )

    def replicas_up(self, ci: int, n_inst: int, t: float) -> int:
        return sum(
            1
            for j in range(n_inst)
            if not any(t0 <= t < t1 for t0, t1 in self.instance_intervals(ci, j))
        )
