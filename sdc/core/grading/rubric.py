"""The versioned rubric: categories, weights and the thresholds every score is built from.

Bump RUBRIC_VERSION whenever a weight, a threshold or a criterion changes, or what a report
lists changes, so that stored grades can be told apart from new ones (1.1.0: every risk has an
action item, strengths exclude categories with an unmet requirement; scores unchanged).
Weights are points of the overall score (sum 100).
"""

from __future__ import annotations

RUBRIC_VERSION = "1.1.0"

# (key, weight, title) in report order.
CATEGORIES: tuple[tuple[str, int, str], ...] = (
    ("requirements-estimation", 10, "Requirements & estimation"),
    ("high-level-architecture", 20, "High-level architecture"),
    ("data-model-access-patterns", 15, "Data model & access patterns"),
    ("scalability", 20, "Scalability"),
    ("reliability-fault-tolerance", 15, "Reliability & fault tolerance"),
    ("bottleneck-identification", 10, "Bottleneck identification"),
    ("trade-off-reasoning", 10, "Trade-off reasoning"),
)
CATEGORY_WEIGHTS = {k: w for k, w, _ in CATEGORIES}

# Load points simulated, as multiples of the scenario's peak.
SURGE_MULTIPLIER = 2.0
FLOOR_FRACTION = 0.01  # "trickle" load that measures the latency floor (network + service)
# Short DES runs: at most DES_DURATION_S simulated seconds and about DES_REQUEST_BUDGET
# simulated requests (the DES costs ~1 us per request), so a grade stays a few seconds of wall
# time; the AZ-loss DES run is skipped above DES_FAILURE_BUDGET requests.
DES_DURATION_S = 4.0
DES_REQUEST_BUDGET = 400_000
DES_FAILURE_BUDGET = 600_000
# Effective SLO used for *scoring* capacity (not for the pass/fail requirement checks): when
# the design's latency floor already exceeds the SLO, queueing headroom is measured against
# floor x this factor instead, so a network floor does not zero every capacity criterion.
FLOOR_HEADROOM = 1.25
# Utilisation the grader treats as comfortable at peak (leaves room for a 2x surge at ~1.4).
UTIL_COMFORT = 0.7
# Sweep: a failure scenario scores 0 at or below this share of good requests, 1 at or above
# GOOD_FULL.
GOOD_ZERO = 0.5
GOOD_FULL = 0.99
# Notes: cap on distinct trade-offs credited, words of substance a section needs for full
# credit.
MAX_TRADEOFFS = 3
SECTION_WORDS = 25
ESTIMATE_FACTOR = 2.0
