"""Evidence items: every score, requirement and action item cites these by id."""

from __future__ import annotations

import math


def rnd(x, sig: int = 4):
    """Round floats to `sig` significant digits (stable, readable JSON); recurse into lists."""
    if isinstance(x, bool) or x is None or isinstance(x, (int, str)):
        return x
    if isinstance(x, float):
        if not math.isfinite(x):
            return None
        if x == 0:
            return 0.0
        return float(f"{x:.{sig}g}")
    if isinstance(x, dict):
        return {k: rnd(v, sig) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [rnd(v, sig) for v in x]
    return x


class Evidence:
    """Ordered, de-duplicated evidence items `{id, kind, summary, component_id?, ...values}`.

    kind: `simulation` (a run), `failure` (a sweep scenario), `path` (request-path analysis),
    `notes` (the written answer), `design` (a fact of the document itself).
    """

    def __init__(self):
        self._items: dict[str, dict] = {}

    def add(
        self,
        eid: str,
        kind: str,
        summary: str,
        *,
        component_id: str | None = None,
        measured: bool = False,
        **values,
    ) -> str:
        if eid not in self._items:
            item = {"id": eid, "kind": kind, "summary": summary, "measured": measured}
            if component_id is not None:
                item["component_id"] = component_id
            item.update(rnd(values))
            self._items[eid] = item
        return eid

    def __contains__(self, eid: str) -> bool:
        return eid in self._items

    def get(self, eid: str) -> dict:
        return self._items[eid]

    def items(self) -> list[dict]:
        return list(self._items.values())


def ms(x) -> str:
    return "n/a" if x is None else f"{x:,.0f} ms" if x >= 10 else f"{x:.1f} ms"


def pct(x) -> str:
    if x is None:
        return "n/a"
    if x == 0:
        return "0%"
    return f"{x * 100:.2f}%" if x < 0.1 else f"{x * 100:.1f}%"


def rps(x) -> str:
    return "n/a" if x is None else f"{x:,.0f} rps"
