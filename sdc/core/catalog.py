"""The scenario catalog: one JSON file per scenario in ``sdc/scenarios/``, validated on load.

A scenario carries its default traffic profile (SIMULATION_MODEL.md section 3), its SLOs and
the requirement checks the grader evaluates. ``check.type`` is one of ``CHECK_TYPES``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources

DIFFICULTIES = ("beginner", "intermediate", "advanced")
CHECK_TYPES = (
    "read-cache",  # reads answered by a cache/CDN on a request path at >= min_hit_ratio
    "write-reaches",  # writes reach a component of component_type (durability, blob storage)
    "read-reaches",  # reads reach a component of component_type
    "async-write",  # a queue is an async boundary on the write path
    "read-replicas",  # the database on the read path has >= min read replicas
    "entry-router",  # traffic enters through a load balancer, gateway or CDN
    "multi-az",  # every request-path component spans >= 2 AZs
    "no-spof",  # no single point of failure on a request path
    "survives-az-down",  # error rate within budget with any one AZ down
    "latency-slo",  # the given percentile meets the SLO at peak
    "surge",  # error rate within budget at multiplier x peak
    "notes-estimate",  # the notes state the quantity within a factor of 2
    "notes-sections",  # the notes cover the listed sections
)
BURSTINESS = ("steady", "spiky", "extreme")
REQUIREMENT_KINDS = ("functional", "non-functional")
REQUIRED_KEYS = (
    "slug",
    "title",
    "brief",
    "difficulty",
    "domain",
    "estimated_minutes",
    "traffic",
    "slos",
    "requirements",
)


class CatalogError(ValueError):
    """A scenario file is malformed; ``problems`` lists ``file: path: sentence`` strings."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ScenarioSpec:
    slug: str
    title: str
    brief: str
    difficulty: str
    domain: str
    estimated_minutes: int
    traffic: dict
    slos: dict
    requirements: list

    @property
    def peak_rps(self) -> float:
        return self.traffic["baseline_rps"] * self.traffic["peak_multiplier"]


def _num(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def validate_scenario(data: object, where: str = "scenario") -> list[str]:
    """Every problem with one scenario document, as ``where: path: sentence``."""
    if not isinstance(data, dict):
        return [f"{where}: must be a JSON object"]
    out = [f"{where}: {k}: is required" for k in REQUIRED_KEYS if k not in data]
    if out:
        return out
    for key in ("slug", "title", "brief", "domain"):
        if not isinstance(data[key], str) or not data[key].strip():
            out.append(f"{where}: {key}: must be a non-empty string")
    if data["difficulty"] not in DIFFICULTIES:
        out.append(f"{where}: difficulty: must be one of {', '.join(DIFFICULTIES)}")
    minutes = data["estimated_minutes"]
    if not (isinstance(minutes, int) and not isinstance(minutes, bool) and 5 <= minutes <= 240):
        out.append(f"{where}: estimated_minutes: must be a whole number of minutes, 5 to 240")
    t = data["traffic"]
    if not isinstance(t, dict):
        out.append(f"{where}: traffic: must be an object")
    else:
        if not (_num(t.get("baseline_rps")) and t["baseline_rps"] > 0):
            out.append(f"{where}: traffic.baseline_rps: must be a number above 0")
        if not (_num(t.get("peak_multiplier")) and 1 <= t["peak_multiplier"] <= 50):
            out.append(f"{where}: traffic.peak_multiplier: must be between 1 and 50")
        if not (_num(t.get("read_ratio")) and 0 <= t["read_ratio"] <= 1):
            out.append(f"{where}: traffic.read_ratio: must be between 0 and 1")
        if not (_num(t.get("payload_kb")) and t["payload_kb"] > 0):
            out.append(f"{where}: traffic.payload_kb: must be a number above 0")
        regions = t.get("regions")
        if (
            not isinstance(regions, dict)
            or not regions
            or not all(_num(v) and v >= 0 for v in regions.values())
        ):
            out.append(f"{where}: traffic.regions: must map regions to shares")
        elif abs(sum(regions.values()) - 1) > 1e-6:
            out.append(f"{where}: traffic.regions: shares must sum to 1")
        if t.get("burstiness", "steady") not in BURSTINESS:
            out.append(f"{where}: traffic.burstiness: must be one of {', '.join(BURSTINESS)}")
        duration = t.get("duration_s", 60)
        if not (_num(duration) and duration > 0):
            out.append(f"{where}: traffic.duration_s: must be a number of seconds above 0")
    out.extend(_slo_problems(data["slos"], where))
    reqs = data["requirements"]
    if not isinstance(reqs, list) or len(reqs) < 8:
        out.append(f"{where}: requirements: needs at least 8 checks")
    else:
        seen = set()
        for i, req in enumerate(reqs):
            if not isinstance(req, dict) or not all(
                k in req for k in ("id", "kind", "text", "check")
            ):
                out.append(f"{where}: requirements[{i}]: needs id, kind, text and check")
                continue
            if req["id"] in seen:
                out.append(f"{where}: requirements[{i}].id: duplicate id {req['id']!r}")
            seen.add(req["id"])
            if req["kind"] not in REQUIREMENT_KINDS:
                out.append(
                    f"{where}: requirements[{i}].kind: must be one of {', '.join(REQUIREMENT_KINDS)}"
                )
            if not isinstance(req["text"], str) or not req["text"].strip():
                out.append(f"{where}: requirements[{i}].text: must be a non-empty sentence")
            check = req["check"]
            kind = check.get("type") if isinstance(check, dict) else None
            if kind not in CHECK_TYPES:
                out.append(f"{where}: requirements[{i}].check.type: unknown check type {kind!r}")
        missing = [
            k
            for k in REQUIREMENT_KINDS
            if k not in {r.get("kind") for r in reqs if isinstance(r, dict)}
        ]
        if missing:
            out.append(
                f"{where}: requirements: needs at least one {' and one '.join(missing)} check"
            )
    return out


def _slo_problems(slos: object, where: str) -> list[str]:
    """Latencies in ms above 0 with p95 <= p99; availability in (0, 1]; error rate in [0, 1)."""
    if not isinstance(slos, dict):
        return [f"{where}: slos: must be an object"]
    out = [
        f"{where}: slos.{key}: must be a number"
        for key in ("p95_ms", "p99_ms", "availability", "max_error_rate")
        if not _num(slos.get(key))
    ]
    if out:
        return out
    if not 0 < slos["p95_ms"] <= slos["p99_ms"]:
        out.append(f"{where}: slos.p95_ms: must be above 0 and at most slos.p99_ms")
    if not 0 < slos["availability"] <= 1:
        out.append(f"{where}: slos.availability: must be a fraction in (0, 1], e.g. 0.999")
    if not 0 <= slos["max_error_rate"] < 1:
        out.append(f"{where}: slos.max_error_rate: must be a fraction in [0, 1), e.g. 0.001")
    return out


def load_catalog() -> list[ScenarioSpec]:
    """Load and validate every scenario file; raises CatalogError listing all problems."""
    problems: list[str] = []
    specs: list[ScenarioSpec] = []
    folder = resources.files("sdc").joinpath("scenarios")
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".json"):
            continue
        try:
            data = json.loads(entry.read_text("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(f"{entry.name}: not valid JSON ({exc})")
            continue
        found = validate_scenario(data, entry.name)
        if not found and data["slug"] + ".json" != entry.name:
            found.append(f"{entry.name}: slug: must match the file name")
        problems.extend(found)
        if not found:
            specs.append(ScenarioSpec(**{k: data[k] for k in REQUIRED_KEYS}))
    if problems:
        raise CatalogError(problems)
    return specs
