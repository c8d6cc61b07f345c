"""Fixed vocabulary and documented defaults of the simulation model.

Every number here is explained (with its source) in docs/simulation-model.md; change both
together, and bump ENGINE_VERSION when a change can move a result.
"""

from __future__ import annotations

# Bump rules: MAJOR when the document or result format changes incompatibly, MINOR when a
# default or a model rule changes results of existing designs, PATCH for fixes that do not
# change any result of a valid design beyond sampling noise.
ENGINE_VERSION = "1.1.0"

DESIGN_FORMAT = "sdc-design/1"
RESULT_FORMAT = "sdc-result/1"

COMPONENT_TYPES: tuple[str, ...] = (
    "client",
    "cdn",
    "load-balancer",
    "api-gateway",
    "service",
    "worker",
    "cache",
    "database",
    "queue",
    "object-store",
    "search",
)
ROUTER_TYPES = frozenset({"client", "load-balancer", "api-gateway"})
STORE_TYPES = frozenset({"database", "object-store", "search"})

REGIONS: tuple[str, ...] = ("us-east", "us-west", "europe", "apac")
# tier -> multiplier on concurrency (servers per replica)
TIERS: dict[str, float] = {"small": 0.5, "medium": 1.0, "large": 2.0, "xlarge": 4.0}
SERVICE_DISTS: tuple[str, ...] = ("exponential", "deterministic", "lognormal")
DISPATCHES: tuple[str, ...] = ("round_robin", "random", "least_outstanding")
EDGE_OPS: tuple[str, ...] = ("all", "read", "write")
EDGE_MODES: tuple[str, ...] = ("sync", "async")
BURSTINESS: tuple[str, ...] = ("steady", "spiky", "extreme")

# Defaults per component type. service_time_ms is the mean time one server spends on one
# request; concurrency is servers per replica at tier "medium"; queue_limit is waiting
# requests per replica (None = unbounded). Sources in docs/simulation-model.md.
_BASE = {
    "replicas": 1,
    "tier": "medium",
    "region": "us-east",
    "azs": ["a"],
    "service_dist": "exponential",
    "service_cv": 1.0,
    "timeout_ms": None,
    "dispatch": "round_robin",
}
TYPE_DEFAULTS: dict[str, dict] = {
    "client": {
        **_BASE,
        "service_time_ms": 0.0,
        "concurrency": 1,
        "queue_limit": None,
        "params": {"share": 1.0},
    },
    "cdn": {
        **_BASE,
        "service_time_ms": 1.0,
        "concurrency": 10000,
        "queue_limit": None,
        "params": {"hit_ratio": 0.8},
    },
    "load-balancer": {
        **_BASE,
        "service_time_ms": 0.1,
        "concurrency": 1024,
        "queue_limit": 10000,
        "params": {},
    },
    "api-gateway": {
        **_BASE,
        "service_time_ms": 1.0,
        "concurrency": 256,
        "queue_limit": 1000,
        "params": {},
    },
    "service": {
        **_BASE,
        "service_time_ms": 10.0,
        "concurrency": 16,
        "queue_limit": 100,
        "params": {},
    },
    "worker": {
        **_BASE,
        "service_time_ms": 50.0,
        "concurrency": 8,
        "queue_limit": None,
        "params": {},
    },
    "cache": {
        **_BASE,
        "service_time_ms": 0.2,
        "concurrency": 8,
        "queue_limit": 1000,
        "params": {"hit_ratio": 0.8},
    },
    "database": {
        **_BASE,
        "service_time_ms": 4.0,
        "concurrency": 32,
        "queue_limit": 200,
        "params": {"read_replicas": 0},
    },
    "queue": {
        **_BASE,
        "service_time_ms": 0.5,
        "concurrency": 64,
        "queue_limit": 10000,
        "params": {"max_depth": 100000},
    },
    "object-store": {
        **_BASE,
        "service_time_ms": 20.0,
        "concurrency": 256,
        "queue_limit": 1000,
        "params": {},
    },
    "search": {
        **_BASE,
        "service_time_ms": 15.0,
        "concurrency": 16,
        "queue_limit": 100,
        "params": {},
    },
}

# One-way network latency in ms. Inside a region: same AZ / cross AZ. Between regions: the
# matrix below (about half the public inter-region round-trip times of the large clouds).
SAME_AZ_MS = 0.1
CROSS_AZ_MS = 0.5
# Users reach the nearest point of presence of their own region over the last mile.
LAST_MILE_MS = 10.0
EDGE_MS = 5.0  # user to CDN edge (CDNs answer from a PoP near the user, whatever its region)
REGION_LATENCY_MS: dict[str, dict[str, float]] = {
    "us-east": {"us-east": 0.0, "us-west": 35.0, "europe": 40.0, "apac": 85.0},
    "us-west": {"us-east": 35.0, "us-west": 0.0, "europe": 70.0, "apac": 55.0},
    "europe": {"us-east": 40.0, "us-west": 70.0, "europe": 0.0, "apac": 80.0},
    "apac": {"us-east": 85.0, "us-west": 55.0, "europe": 80.0, "apac": 0.0},
}
# Effective per-request transfer bandwidth in Mbit/s (payload transfer time per hop is
# payload_kb * 8 / Mbps milliseconds).
BANDWIDTH_MBPS = {"internal": 1000.0, "cross_region": 100.0, "internet": 50.0}

# Health checks: a router notices a dead replica after this delay (interval 2 s x 2 failed
# checks + 1 s propagation), and puts a recovered one back after the same delay.
DETECTION_DELAY_S = 5.0
# p95 threshold (ms) of the DES timeline's "above the SLO" events and the blast radius's
# "slower than the SLO" share when simulate() is not given slo_ms.
DEFAULT_SLO_MS = 500.0
UTILISATION_TARGET = 0.7

DEFAULT_TRAFFIC: dict = {
    "baseline_rps": 1000.0,
    "peak_multiplier": 1.0,
    "read_ratio": 0.9,
    "payload_kb": 4.0,
    "regions": {"us-east": 1.0},
    "burstiness": "steady",
    "duration_s": 60.0,
}

LIMITS = {
    "max_components": 500,
    "max_edges": 2000,
    "max_replicas": 1000,
    "max_service_time_ms": 600_000.0,
    "max_concurrency": 100_000,
    "max_queue_limit": 10_000_000,
    "max_label": 120,
    "max_notes": 20_000,
    "max_rps": 10_000_000.0,
    "max_duration_s": 3600.0,
    "max_slo_ms": 3_600_000.0,
    "max_payload_kb": 1_000_000.0,
    "max_template_visits": 4000,
}
