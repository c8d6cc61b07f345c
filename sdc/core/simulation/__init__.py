"""The simulation engine (framework-free): validation, analytic and discrete-event engines.

See docs/simulation-model.md for the model and /work/shared/SIMULATION_MODEL.md (contract).
"""

from .api import knee, simulate
from .constants import (
    COMPONENT_TYPES,
    DEFAULT_SLO_MS,
    DEFAULT_TRAFFIC,
    DETECTION_DELAY_S,
    ENGINE_VERSION,
    REGION_LATENCY_MS,
    REGIONS,
    TIERS,
    TYPE_DEFAULTS,
)
from .failures import FAILURE_MODES, parse_failure_arg, validate_failure
from .graph import request_paths, single_points_of_failure
from .model import Component, Design, DesignWarning, Edge, InvalidDesign, Problem, Traffic
from .validation import Validation, load_design_text, validate_design, validate_traffic

Warning = DesignWarning  # noqa: A001 - the brief's name for a design warning

__all__ = [
    "COMPONENT_TYPES",
    "DEFAULT_SLO_MS",
    "DEFAULT_TRAFFIC",
    "DETECTION_DELAY_S",
    "ENGINE_VERSION",
    "FAILURE_MODES",
    "REGIONS",
    "REGION_LATENCY_MS",
    "TIERS",
    "TYPE_DEFAULTS",
    "Component",
    "Design",
    "DesignWarning",
    "Edge",
    "InvalidDesign",
    "Problem",
    "Traffic",
    "Validation",
    "knee",
    "load_design_text",
    "parse_failure_arg",
    "request_paths",
    "simulate",
    "single_points_of_failure",
    "validate_design",
    "validate_failure",
    "validate_traffic",
]
