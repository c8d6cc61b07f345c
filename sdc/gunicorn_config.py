"""Gunicorn settings for every deployment of the app (``gunicorn -c python:sdc.gunicorn_config``):
docker-compose, the image's default command and the load test use it.

One hook. After a worker has loaded the app, everything the app holds for its whole life
(modules, mappers, compiled templates and SQL, about 200,000 objects) is moved out of the
garbage collector's reach with ``gc.freeze()``. A full collection otherwise walks all of them:
132 ms measured in a warmed-up app process (``bench/requests.py``'s app, PostgreSQL), a pause in
which the worker answers nobody, while after the freeze it walks only the objects created since.
Frozen objects are never collected, which is right for these: they live as long as the worker.
"""

from __future__ import annotations

import gc


def post_worker_init(worker) -> None:  # gunicorn's hook: called once the app is loaded
    gc.collect()  # do not freeze garbage from start-up
    gc.freeze()
