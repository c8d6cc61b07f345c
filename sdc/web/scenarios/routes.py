"""The scenario picker."""

from flask import jsonify, render_template, request
from flask_login import login_required

from sdc.core.catalog import DIFFICULTIES
from sdc.services import scenarios as scenario_service
from sdc.web.errors import wants_json
from sdc.web.htmx import is_partial
from sdc.web.scenarios import bp


@bp.get("/")
@login_required
def index():
    difficulty = request.args.get("difficulty", "")
    domain = request.args.get("domain", "")
    q = request.args.get("q", "")
    rows = scenario_service.list_scenarios(difficulty, domain, q)
    if wants_json():
        return jsonify(
            scenarios=[
                {
                    "slug": s.slug,
                    "title": s.title,
                    "difficulty": s.difficulty,
                    "domain": s.domain,
                    "estimated_minutes": s.estimated_minutes,
                    "traffic": s.traffic,
                    "slos": s.slos,
                }
                for s in rows
            ]
        )
    context = dict(
        scenarios=rows,
        difficulties=DIFFICULTIES,
        domains=scenario_service.domains(),
        difficulty=difficulty,
        domain=domain,
        q=q[:100],
    )
    if is_partial():
        return render_template("scenarios/_scenario_list.html", **context)
    return render_template("scenarios/index.html", **context)
