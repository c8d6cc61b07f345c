"""Generate ``docs/authz-review-matrix.md`` from the app's URL map.

``python -m sdc.tools.authz_matrix`` rewrites the file; ``tests/test_docs.py`` regenerates it
in memory and fails when the committed file differs, so the matrix cannot drift from the code.
Access levels come from ``sdc.web.access.access_of`` (declared ``@requires`` or inferred).
"""

from __future__ import annotations

import sys
from pathlib import Path

from flask import Flask

SAFE = {"GET", "HEAD", "OPTIONS"}
DOC = Path(__file__).resolve().parents[2] / "docs" / "authz-review-matrix.md"

HEADER = """# Authorization review matrix

Generated from `app.url_map` by `python -m sdc.tools.authz_matrix`; do not edit by hand.
`tests/test_docs.py` fails when this file differs from what the code produces.

Access levels:

- **anonymous**: anyone; the view itself may still redirect (e.g. the dashboard sends anonymous
  visitors to sign in).
- **signed-in**: Flask-Login `login_required` (a session cookie or an `Authorization: Bearer`
  API token).
- **owner**: signed-in, and the service checks that the caller owns (or is a member of) the
  project the URL names; anyone else gets 404, so ids reveal nothing.
- **admin**: `@requires("admin")` and the blueprint guard; everyone else gets 404.

CSRF: every cookie-authenticated state-changing method (not GET/HEAD/OPTIONS) is checked by
`sdc.web.hooks.enforce_csrf`; bearer-token requests carry no ambient credential and are exempt.
Audit: every state-changing request writes a generic `audit_logs` row; admin views write an
`admin.view` row for GETs too.

| Route | Methods | Endpoint | Access | Source | CSRF | Audit |
|---|---|---|---|---|---|---|
"""


def rows(app: Flask) -> list[tuple]:
    from sdc.web.access import access_of

    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        level, source = access_of(view, set(rule.arguments))
        mutating = any(m not in SAFE for m in methods)
        audited = (
            "every request"
            if rule.endpoint.startswith("admin.")
            else ("generic row" if mutating else "-")
        )
        out.append(
            (
                rule.rule,
                ", ".join(methods),
                rule.endpoint,
                level,
                source,
                "yes" if mutating else "-",
                audited,
            )
        )
    out.sort(key=lambda r: (r[0], r[1]))
    return out


def render(app: Flask) -> str:
    lines = [HEADER.rstrip("\n")]
    for route, methods, endpoint, level, source, csrf, audited in rows(app):
        lines.append(
            f"| `{route}` | {methods} | `{endpoint}` | {level} | {source} | {csrf} | {audited} |"
        )
    counts: dict[str, int] = {}
    for r in rows(app):
        counts[r[3]] = counts.get(r[3], 0) + 1
    summary = ", ".join(f"{counts[k]} {k}" for k in sorted(counts))
    lines.append("")
    lines.append(f"{len(rows(app))} routes: {summary}.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from sdc import create_app
    from sdc.settings import load_settings

    app = create_app(
        settings=load_settings(
            {"SECRET_KEY": "authz-matrix", "SDC_ENV": "test", "DATABASE_URL": "sqlite://"}
        )
    )
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(render(app))
    print(f"wrote {DOC} ({len(rows(app))} routes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
