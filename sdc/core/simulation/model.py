"""The validated, normalised design model (plain frozen dataclasses).

`validate_design` turns a JSON document into these; engines only ever see them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .constants import TIERS


@dataclass(frozen=True)
class Problem:
    """A blocking problem: JSON path (`components[2].replicas`) and a plain sentence."""

    path: str
    message: str

    def to_dict(self) -> dict:
        return {"path": self.path, "message": self.message}

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True)
class DesignWarning:
    """A risk in a valid design (never blocks a run)."""

    code: str
    message: str
    path: str = ""
    component_id: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class InvalidDesign(ValueError):
    """Raised by `simulate`/`knee` for an invalid design or traffic; `.problems` lists all."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems[:5]))


@dataclass(frozen=True)
class Component:
    id: str
    type: str
    label: str
    replicas: int
    tier: str
    region: str
    azs: tuple[str, ...]
    service_time_ms: float
    service_dist: str
    service_cv: float
    concurrency: int
    queue_limit: int | None
    timeout_ms: float | None
    dispatch: str
    params: dict = field(default_factory=dict)
    index: int = 0

    @property
    def servers(self) -> int:
        """Servers per replica after the tier multiplier (at least 1)."""
        return max(1, int(round(self.concurrency * TIERS[self.tier])))

    @property
    def instance_count(self) -> int:
        """Replicas plus, for a database, its read replicas."""
        if self.type == "database":
            return self.replicas + int(self.params.get("read_replicas", 0))
        return self.replicas

    def instance_az(self, j: int) -> str:
        return self.azs[j % len(self.azs)]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["azs"] = list(self.azs)
        d.pop("index")
        return d


@dataclass(frozen=True)
class Edge:
    id: str
    source: str
    target: str
    ops: str = "all"
    mode: str = "sync"
    weight: float = 1.0

    def matches(self, op: str) -> bool:
        return self.ops == "all" or self.ops == op

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Traffic:
    baseline_rps: float
    peak_multiplier: float
    read_ratio: float
    payload_kb: float
    regions: dict
    burstiness: str
    duration_s: float

    @property
    def peak_rps(self) -> float:
        return self.baseline_rps * self.peak_multiplier

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Design:
    components: tuple[Component, ...]
    edges: tuple[Edge, ...]
    traffic: Traffic | None
    notes: str = ""
    ignored_edges: tuple[str, ...] = ()  # edge ids dropped to break sync cycles

    def component(self, cid: str) -> Component:
        return self.components[self.index[cid]]

    @property
    def index(self) -> dict[str, int]:
        return {c.id: i for i, c in enumerate(self.components)}

    def out_edges(self, cid: str) -> list[Edge]:
        return [e for e in self.edges if e.source == cid and e.id not in self.ignored_edges]

    def to_dict(self) -> dict:
        return {
            "format": "sdc-design/1",
            "components": [c.to_dict() for c in self.components],
            "edges": [e.to_dict() for e in self.edges],
            "traffic": self.traffic.to_dict() if self.traffic else None,
        }
