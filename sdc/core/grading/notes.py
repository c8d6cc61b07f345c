"""The written answer, read for substance rather than keywords.

Notes are split into sections by Markdown headings, bold lines or `Label:` markers; each
section is credited only for its own kind of structure (numbers with units for estimates,
endpoints for the API, field definitions for the data model, statements naming both sides for
trade-offs), after every repeated sentence is dropped. Text outside a recognised section, lists
of bare keywords and repetitions earn nothing; every section's credit is capped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import rubric

# Canonical section -> heading aliases (matched as whole words, in this order).
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "trade-offs",
        (
            "trade-offs?",
            "tradeoffs?",
            "trade offs?",
            "alternatives?",
            "decisions?",
            "design choices?",
            "pros and cons",
        ),
    ),
    (
        "data model",
        (
            "data model",
            "data models",
            "schema",
            "schemas",
            "storage",
            "tables?",
            "entities",
            "data",
        ),
    ),
    ("api", ("api", "apis", "endpoints?", "interfaces?", "rest", "rpc")),
    (
        "estimates",
        (
            "estimates?",
            "estimations?",
            "capacity",
            "back[- ]of[- ](?:the[- ])?envelope",
            "sizing",
            "scale",
            "numbers",
            "traffic",
        ),
    ),
    (
        "requirements",
        (
            "requirements?",
            "functional",
            "non-functional",
            "scope",
            "goals?",
            "use cases?",
            "features?",
        ),
    ),
    (
        "bottlenecks",
        (
            "bottlenecks?",
            "scaling",
            "hot ?spots?",
            "limits",
            "failure modes?",
            "reliability",
            "risks?",
        ),
    ),
)
FUNCTION_WORDS = frozenset(
    "a an the to of in on for with by per at from is are be can must should will would may "
    "each every and or not no it its we our they their this that which when if as so than "
    "then into up out under over within".split()
)
_HEADING = re.compile(r"^\s{0,3}(?:#{1,6}\s+(.+?)\s*#*\s*$|(?:\*\*|__)(.+?)(?:\*\*|__)\s*:?\s*$)")
_MARKER = re.compile(
    r"^\s{0,3}(?:[-*]\s+)?(?:\*\*|__)?([A-Za-z][A-Za-z &/-]{1,40}?)(?:\*\*|__)?"
    r"\s*:\s*(.*)$"
)
_NUM = r"(\d[\d,]*(?:\.\d+)?)\s*(k|m|b|thousand|million|billion)?\b"
_RATE_UNIT = (
    r"\s*(?:rps|qps|tps|req(?:uest)?s?\s*/\s*s(?:ec(?:ond)?)?\b|"
    r"(?:req(?:uest)?s?|writes?|reads?|messages?|updates?|events?)(?:\s+per|\s+a|\s*/)\s*"
    r"s(?:ec(?:ond)?)?\b|/\s*s(?:ec)?\b)"
)
RATE_RE = re.compile(_NUM + _RATE_UNIT, re.I)
QUANTITY_RE = re.compile(
    _NUM + r"\s*(?:%|rps|qps|tps|ms|s\b|sec|seconds?|minutes?|hours?|days?|"
    r"years?|[kmgtp]i?b\b|bytes?|users?|dau|mau|/\s*s|/\s*day|per\s+\w+|"
    r"req|requests?|writes?|reads?|messages?|x\b|times|replicas?|nodes?|"
    r"servers?|shards?)",
    re.I,
)
ENDPOINT_RE = re.compile(
    r"\b(?:GET|POST|PUT|PATCH|DELETE)\s+/[\w/{}:.<>-]*|"
    r"\b[a-z_][\w.]*\([\w\s,:=\[\]|\"'*]*\)\s*(?:->|:|returns?)",
    re.I,
)
FIELD_RE = re.compile(
    r"^\s*(?:[-*|]\s*)?`?[A-Za-z_][\w.]*`?\s*(?::|\(|\|)\s*`?[A-Za-z_][\w\[\]()]*"
    r"|\b(?:primary key|partition key|sort key|foreign key|index on|pk|fk|"
    r"create table)\b",
    re.I,
)
TRADEOFF_RE = re.compile(
    r"\b(?:vs\.?|versus|over|instead of|rather than|at the cost of|"
    r"in exchange for|traded? (?:off )?(?:against|for)|trade-?off between|"
    r"downside|but|however|cost(?:s)? (?:us|more|extra)|at the expense of)\b",
    re.I,
)
CHOICE_RE = re.compile(
    r"\b(?:choose|chose|chosen|pick|picked|prefer|preferred|use|using|used|"
    r"went with|opt(?:ed)?|accept|decided?|keep|favou?r)\b",
    re.I,
)
BOTTLENECK_RE = re.compile(
    r"\b(?:bottlenecks?|hot ?spots?|saturat\w*|limiting|limited by|"
    r"first to (?:fail|break|saturate)|choke ?points?|runs? out)\b",
    re.I,
)
_MULT = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "b": 1e9, "billion": 1e9}
TYPE_WORDS = {
    "cache": ("cache", "redis", "memcached"),
    "cdn": ("cdn", "cloudfront", "akamai", "edge"),
    "database": ("database", "db", "postgres", "mysql", "dynamo", "cassandra", "primary"),
    "queue": ("queue", "kafka", "sqs", "rabbitmq", "stream"),
    "load-balancer": ("load balancer", "lb", "balancer"),
    "api-gateway": ("gateway",),
    "service": ("service", "api", "server"),
    "worker": ("worker", "consumer"),
    "object-store": ("object store", "s3", "blob"),
    "search": ("search", "index", "elastic"),
}


@dataclass
class NotesFacts:
    """What the notes substantively contain (all credits are 0..1)."""

    sections: dict[str, float] = field(default_factory=dict)  # canonical -> credit
    found: dict[str, list[str]] = field(default_factory=dict)  # canonical -> what counted
    stated_peak_rps: float | None = None
    estimate_line: str | None = None
    tradeoffs: list[str] = field(default_factory=list)
    bottleneck_sentences: list[str] = field(default_factory=list)
    duplicates_dropped: int = 0
    chars: int = 0


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9%/.]+", " ", s.lower()).strip(" .")


def _sentences(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", line).strip()
        for s in re.split(r"(?<=[.!?;])\s+", line):
            if s.strip():
                out.append(s.strip())
    return out


def _canonical(title: str) -> str | None:
    t = title.lower()
    for key, aliases in SECTIONS:
        if any(re.search(rf"\b{a}\b", t) for a in aliases):
            return key
    return None


def split_sections(notes: str) -> dict[str, list[str]]:
    """Canonical section -> its unique lines (first occurrence wins across the whole text)."""
    cur = None
    out: dict[str, list[str]] = {}
    lines = notes.splitlines()
    # `Label:` markers only structure notes that have no headings (else they are field names)
    markers = not any(_HEADING.match(x) for x in lines)
    for line in lines:
        m = _HEADING.match(line)
        if m:
            cur = _canonical(m.group(1) or m.group(2))
            continue
        mk = _MARKER.match(line) if markers else None
        if mk and _canonical(mk.group(1)) and len(mk.group(1).split()) <= 4:
            cur = _canonical(mk.group(1))
            line = mk.group(2)
        if cur is not None and line.strip():
            out.setdefault(cur, []).append(line)
    return out


def _is_prose(s: str, min_words: int = 4) -> bool:
    words = re.findall(r"[A-Za-z][\w'-]*", s)
    return len(words) >= min_words and any(w.lower() in FUNCTION_WORDS for w in words)


def parse_rate(text: str, near: str | None = None) -> list[float]:
    """Request rates stated in `text` (rps); with `near`, the one closest after that word
    comes first."""
    found = []
    for m in RATE_RE.finditer(text):
        x = float(m.group(1).replace(",", ""))
        found.append((m.start(), m.end(), x * _MULT.get((m.group(2) or "").lower(), 1.0)))
    if near:
        w = re.search(rf"\b{near}\b", text, re.I)
        if w:
            found.sort(key=lambda p: max(p[0] - w.end(), w.start() - p[1], 0))
    return [x for _, _, x in found]


def analyse_notes(notes: str | None) -> NotesFacts:
    """Facts of the notes; pure and deterministic."""
    facts = NotesFacts(chars=len(notes or ""))
    if not notes or not notes.strip():
        return facts
    seen: set[str] = set()
    sections: dict[str, list[str]] = {}
    for key, lines in split_sections(notes).items():
        for s in _sentences("\n".join(lines)):
            n = _norm(s)
            if not n:
                continue
            if n in seen:
                facts.duplicates_dropped += 1
                continue
            seen.add(n)
            sections.setdefault(key, []).append(s)
    for key, sents in sections.items():
        credit, items = _credit(key, sents)
        facts.sections[key] = credit
        facts.found[key] = items
    facts.tradeoffs = [s for s in sections.get("trade-offs", []) if _is_tradeoff(s)]
    facts.tradeoffs = facts.tradeoffs[: rubric.MAX_TRADEOFFS * 3]
    body = "\n".join(x for x in notes.splitlines() if not _HEADING.match(x))
    facts.bottleneck_sentences = [s for s in _unique(_sentences(body)) if BOTTLENECK_RE.search(s)]
    facts.stated_peak_rps, facts.estimate_line = _stated_peak(notes)
    return facts


def _unique(sents: list[str]) -> list[str]:
    seen, out = set(), []
    for s in sents:
        n = _norm(s)
        if n and n not in seen:
            seen.add(n)
            out.append(s)
    return out


def _credit(key: str, sents: list[str]) -> tuple[float, list[str]]:
    text = "\n".join(sents)
    if key == "estimates":
        qs = sorted({_norm(m.group(0)) for m in QUANTITY_RE.finditer(text)})
        return min(1.0, len(qs) / 3.0), qs
    if key == "api":
        eps = sorted({_norm(m.group(0)) for m in ENDPOINT_RE.finditer(text)})
        return min(1.0, len(eps) / 2.0), eps
    if key == "data model":
        fields = sorted({_norm(s) for s in sents if FIELD_RE.search(s)})
        return min(1.0, len(fields) / 3.0), fields
    if key == "trade-offs":
        t = [s for s in sents if _is_tradeoff(s)]
        return min(1.0, len(t) / rubric.MAX_TRADEOFFS), t[: rubric.MAX_TRADEOFFS]
    prose = [s for s in sents if _is_prose(s)]
    words = {w.lower() for s in prose for w in re.findall(r"[A-Za-z][\w'-]+", s)}
    credit = min(1.0, len(prose) / 3.0, len(words) / rubric.SECTION_WORDS)
    return credit, prose[:6]


def _is_tradeoff(s: str) -> bool:
    """A statement that names both sides: a choice, a connector, words on either side."""
    m = TRADEOFF_RE.search(s)
    if not m or not _is_prose(s, 6):
        return False
    left, right = s[: m.start()], s[m.end() :]
    content = [re.findall(r"[A-Za-z0-9]{2,}", x) for x in (left, right)]
    if not all(content):
        return False
    word = m.group(0).lower()
    if word in ("but", "however", "downside") and not CHOICE_RE.search(s):
        return False
    return True


def _stated_peak(notes: str) -> tuple[float | None, str | None]:
    lines = [ln for ln in notes.splitlines() if parse_rate(ln)]
    for ln in lines:
        if re.search(r"\bpeak\b", ln, re.I):
            return parse_rate(ln, "peak")[0], ln.strip()[:200]
    if lines:
        best = max(lines, key=lambda ln: max(parse_rate(ln)))
        return max(parse_rate(best)), best.strip()[:200]
    return None, None


def mentions(sentence: str, comp) -> bool:
    """Does `sentence` name component `comp` (by id, label or a word for its type)?"""
    s = sentence.lower()
    names = {comp.id.lower(), (comp.label or "").lower()}
    names |= set(TYPE_WORDS.get(comp.type, ()))
    return any(
        n and len(n) >= 2 and re.search(rf"(?<![\w-]){re.escape(n)}(?:s|es)?(?![\w-])", s)
        for n in names
    )
