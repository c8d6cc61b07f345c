"""The app's Jinja environment resolves ``d.name`` on dicts exactly as Jinja does.

``template_helpers.Environment`` reads a plain dict's item before trying an attribute (a
speed-up); what a template sees must not change, including for keys that shadow dict methods
(component ids and labels come from users).
"""

from __future__ import annotations

import jinja2
import pytest

from sdc.web.template_helpers import Environment


class Mapping(dict):
    label = "attribute"


CASES = [
    ("{{ d.label }}", {"label": "API"}),
    ("{{ d.missing }}|{{ d.missing is defined }}", {"label": "API"}),
    ("{{ d.items()|list|length }}", {"items": "shadowed", "a": 1}),
    ("{{ d.get('a') }}", {"get": "shadowed", "a": 1}),
    ("{{ d.keys is callable }}", {"keys": 1}),
    ("{{ d.__class__.__name__ }}", {"__class__": "x"}),
    ("{% for k, v in d.items()|sort %}{{ k }}={{ v }};{% endfor %}", {"b": 2, "a": 1}),
    ("{{ d.label }}", Mapping(label="item")),  # not a plain dict: attribute first, as in Jinja
    ("{{ d.real }}", {"real": "item"}),  # names that are not dict attributes read the item
    ("{{ d.a.b }}", {"a": {"b": "nested"}}),
]


@pytest.mark.parametrize("source, value", CASES)
def test_dict_lookups_match_jinja(app, source, value):
    ours = app.jinja_env
    assert isinstance(ours, Environment)
    plain = jinja2.Environment(autoescape=True)
    expected = plain.from_string(source).render(d=value)
    with app.test_request_context():
        assert ours.from_string(source).render(d=value) == expected


def test_reads_the_item_of_a_plain_dict(app):
    # Jinja itself answers these by getattr's AttributeError and then the item; ours reads the
    # item directly. Same answers as above; here the values are pinned too.
    with app.test_request_context():
        render = app.jinja_env.from_string
        assert render("{{ d.label }}").render(d={"label": "API"}) == "API"
        assert render("{{ d.get('x', 'y') }}").render(d={"get": 1}) == "y"
        assert render("{{ d.label }}").render(d=Mapping(label="item")) == "attribute"
