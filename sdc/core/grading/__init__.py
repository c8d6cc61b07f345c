"""The grader (framework-free): a rubric grounded in the scenario and in simulated evidence.

See docs/grading.md. `grade(doc, scenario)` returns a deterministic, JSON-safe report;
`apply_fix` applies one of its fix proposals to a copy of the design; the AI helpers build the
prompt for a language model and check its answer against the report's evidence.
"""

from .ai import AI_FEEDBACK_SCHEMA, PROMPT_VERSION, build_ai_prompt, guard_ai_feedback
from .fixes import FIX_KINDS, FixError, apply_fix
from .grader import REPORT_FORMAT, UnknownScenario, grade
from .rubric import CATEGORIES, RUBRIC_VERSION

__all__ = [
    "AI_FEEDBACK_SCHEMA",
    "CATEGORIES",
    "FIX_KINDS",
    "PROMPT_VERSION",
    "REPORT_FORMAT",
    "RUBRIC_VERSION",
    "FixError",
    "UnknownScenario",
    "apply_fix",
    "build_ai_prompt",
    "grade",
    "guard_ai_feedback",
]
