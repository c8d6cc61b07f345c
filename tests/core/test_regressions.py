"""Engine bugs found by other parts of the product, pinned so they stay fixed."""

import pytest

from sdc.core.simulation import simulate

PASS_THROUGH = {
    "format": "sdc-design/1",
    "components": [
        {"id": "users", "type": "client"},
        {"id": "lb", "type": "load-balancer", "service_time_ms": 0, "queue_limit": 10},
        {"id": "api", "type": "service", "replicas": 3, "service_time_ms": 10, "concurrency": 4},
    ],
    "edges": [
        {"id": "e1", "source": "users", "target": "lb"},
        {"id": "e2", "source": "lb", "target": "api"},
    ],
}


@pytest.mark.parametrize("burstiness", ["steady", "spiky", "extreme"])
def test_zero_service_time_with_queue_limit_under_bursts(burstiness):
    """Found by the grader: a pass-through station with a queue limit crashed the analytic
    p95 under bursty traffic (TypeError in the mixture quantile)."""
    traffic = {
        "baseline_rps": 100,
        "peak_multiplier": 2,
        "read_ratio": 0.5,
        "payload_kb": 1,
        "regions": {"us-east": 1},
        "burstiness": burstiness,
        "duration_s": 30,
    }
    result = simulate(PASS_THROUGH, traffic)
    rows = {c["id"]: c for c in result["components"]}
    assert rows["lb"]["p95_sojourn_ms"] == 0.0  # a point mass at zero, not an error
    assert rows["api"]["p95_sojourn_ms"] > 10  # service time plus some queueing
