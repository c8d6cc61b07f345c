"""A per-process memo of what one stored state of a version determines: its validation and
diagram SVG, which every workspace view and autosave answer would otherwise recompute, and the
validation of the document a run of it starts from (every run start of the same version, seed
after seed, validated the same document again).

The key names one stored content for good: every change of a version's design goes through a
conditional UPDATE that bumps ``revision`` (``sdc.services.versions``), and any other ORM write
bumps ``updated_at``. So an entry is never stale, only evicted (least recently used first,
``MAX_ENTRIES`` in all). Values are shared between requests: callers must not mutate them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

MAX_ENTRIES = 512

T = TypeVar("T")

_entries: OrderedDict[Hashable, object] = OrderedDict()
_lock = threading.Lock()  # gunicorn's gthread workers share a process


def version_key(version) -> tuple:
    """The identity of ``version``'s stored content: (id, revision, updated_at)."""
    return (version.id, version.revision, version.updated_at)


def memo(kind: str, version, extra: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``'s value for (``kind``, ``version``'s stored content, ``extra``), computed
    once per process while it stays among the ``MAX_ENTRIES`` most recently used."""
    key = (kind, version_key(version), extra)
    with _lock:
        if key in _entries:
            _entries.move_to_end(key)
            return _entries[key]  # type: ignore[return-value]
    value = compute()
    with _lock:
        _entries[key] = value
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def clear() -> None:
    """Forget everything (tests)."""
    with _lock:
        _entries.clear()
