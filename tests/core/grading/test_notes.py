"""The notes analyser: structure earns credit, repetition and keyword lists do not."""

from __future__ import annotations

from sdc.core.grading.notes import analyse_notes, parse_rate


def test_rates_and_the_peak_line():
    assert parse_rate("Peak: 150,000 requests per second; 7,500 writes/s, 40k req/s") == [
        150000.0,
        7500.0,
        40000.0,
    ]
    f = analyse_notes("## Estimates\nBaseline 4,000 rps, peak 12k rps (3x).\n")
    assert f.stated_peak_rps == 12000.0
    f = analyse_notes("## Estimates\nWe expect ~36,000 rps at peak and 12k rps on average.\n")
    assert f.stated_peak_rps == 36000.0


def test_sections_need_their_own_structure():
    f = analyse_notes(
        "## API\nThe API is RESTful and scalable and fast.\n"
        "## Data model\nWe store data in a database.\n"
        "## Estimates\nLots of traffic.\n"
    )
    assert f.sections.get("api", 0) == 0 and f.sections.get("data model", 0) == 0
    assert f.sections.get("estimates", 0) == 0
    f = analyse_notes(
        "## API\n- GET /v1/items/{id}\n- POST /v1/items -> 201\n"
        "## Data model\n- items: id (PK), name (text), owner_id (bigint)\n"
        "- owners: id (PK)\n- index on owner_id\n"
    )
    assert f.sections["api"] == 1.0 and f.sections["data model"] == 1.0


def test_markers_without_headings_and_dedupe():
    text = (
        "Requirements: users can upload a photo and share it with friends.\n"
        "Requirements: users can upload a photo and share it with friends.\n"
    )
    f = analyse_notes(text)
    assert "requirements" in f.sections and f.duplicates_dropped == 1


def test_tradeoffs_name_both_sides():
    f = analyse_notes(
        "## Trade-offs\n- consistency vs availability\n"
        "- We chose Redis over Memcached because we need sorted sets.\n"
        "- Caching is good but hard.\n"
    )
    assert f.tradeoffs == ["We chose Redis over Memcached because we need sorted sets."]


def test_keyword_lists_earn_nothing():
    f = analyse_notes(
        "## Requirements\ncache cdn queue shard replica kafka redis\n"
        "## Trade-offs\nlatency throughput consistency availability\n"
    )
    assert f.sections.get("requirements", 0) == 0 and f.tradeoffs == []
