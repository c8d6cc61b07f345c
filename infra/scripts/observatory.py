"""Grade the app's HTTP headers with the MDN HTTP Observatory, offline, in the production config.

usage: python infra/scripts/observatory.py OBSERVATORY_DIR [PATH ...]

OBSERVATORY_DIR is prepared by ``../shared/tools/observatory/setup.sh DIR`` (scanner + a
private CA and localhost certificate). The app runs with SDC_ENV=production on a throwaway
SQLite database, served over TLS on one port; a second, plain-HTTP port redirects to it, as the
TLS-terminating proxy does in production. Prints each page's grade and exits 1 unless every
page is A+ with a score of at least 120.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCAN = ROOT.parent / "shared" / "tools" / "observatory" / "scan.mjs"
DEFAULT_PATHS = [
    "/",
    "/auth/login",
    "/auth/signup",
    "/scenarios/",
    "/status",
    "/healthz",
    "/no-such-page",
]
MIN_SCORE = 120


def build_app(workdir: Path):
    sys.path.insert(0, str(ROOT))
    os.environ.update(
        SDC_ENV="production",
        SECRET_KEY="observatory-scan-secret",
        DATABASE_URL=f"sqlite:///{workdir / 'scan.db'}",
        SDC_INSTANCE_DIR=str(workdir),
        REDIS_URL="",
        PROXY_FIX_HOPS="0",
    )
    from flask_migrate import upgrade

    from sdc import create_app
    from sdc.services.scenarios import seed_scenarios

    app = create_app()
    with app.app_context():
        upgrade()
        seed_scenarios()
    return app


def redirect_to_https(https_port: int):
    def app(environ, start_response):
        host = environ.get("HTTP_HOST", "localhost").split(":")[0]
        target = f"https://{host}:{https_port}{environ.get('PATH_INFO', '/')}"
        start_response("301 Moved Permanently", [("Location", target), ("Content-Length", "0")])
        return [b""]

    return app


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    obs_dir = Path(argv[0]).resolve()
    paths = argv[1:] or DEFAULT_PATHS
    from werkzeug.serving import make_server

    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp))
        tls = (str(obs_dir / "tls" / "leaf.pem"), str(obs_dir / "tls" / "leaf.key"))
        https = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=tls)
        https_port = https.server_port
        http = make_server("127.0.0.1", 0, redirect_to_https(https_port), threaded=True)
        for server in (https, http):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(obs_dir / "tls" / "ca.pem")}
        failures = 0
        for path in paths:
            out = subprocess.run(
                [
                    "node",
                    str(SCAN),
                    str(obs_dir),
                    "localhost",
                    str(http.server_port),
                    str(https_port),
                    path,
                ],
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
            )
            match = re.search(r"^GRADE (\S+) (-?\d+)", out.stdout, flags=re.M)
            grade, score = (match.group(1), int(match.group(2))) if match else ("?", 0)
            ok = grade == "A+" and score >= MIN_SCORE
            failures += not ok
            print(f"{'ok ' if ok else 'BAD'} {grade:3} {score:4}  {path}")
            if not ok:
                print(out.stdout + out.stderr)
        https.shutdown()
        http.shutdown()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
