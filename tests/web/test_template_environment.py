"""The app's Jinja environment resolves ``d.name`` on dicts exactly as Jinja does.

``template_helpers.Environment`` reads a plain dict's item before trying an attribute (a
speed-up); what a template sees must not change, including for keys that shadow dict methods
(component ids and labels come from users).
"""

from __future__ import annotations

import itertools

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


URL_CALLS = [  # (call, memoized)
    ("{{ url_for('main.dashboard') }}", True),
    ("{{ url_for('workspace.show', project_id=pid, version_id=vid) }}", True),
    ("{{ url_for('workspace.show', project_id=pid, version_id=vid, component='c-1') }}", True),
    ("{{ url_for('workspace.show', project_id=pid, version_id=vid, _anchor='x') }}", False),
    ("{{ url_for('workspace.show', project_id=pid, version_id=vid, tags=['a', 'b']) }}", False),
    ("{{ url_for('main.dashboard', _external=True) }}", False),
]


def test_templates_url_for_is_flasks_built_once_per_mount_point(app, monkeypatch):
    """Templates' ``url_for`` gives what Flask's gives, for every kind of call, under each of two
    mount points in turn (one process serves both); a plain call is built once per mount point,
    then read from the memo."""
    import uuid

    from flask import url_for

    ids = {"pid": uuid.uuid4(), "vid": uuid.uuid4()}
    built = []
    real = app.url_for

    def counting(endpoint, **values):
        built.append(endpoint)
        return real(endpoint, **values)

    for script_root, (source, memoized) in itertools.product(["", "/coach"], URL_CALLS):
        base = "http://localhost" + script_root
        with app.test_request_context("/", base_url=base):
            flasks = source.replace("url_for", "flask_url_for")
            expected = app.jinja_env.from_string(flasks).render(flask_url_for=url_for, **ids)
            monkeypatch.setattr(app, "url_for", counting)
            built.clear()
            first = app.jinja_env.from_string(source).render(**ids)
            again = app.jinja_env.from_string(source).render(**ids)
            monkeypatch.setattr(app, "url_for", real)
        assert first == again == expected, source
        assert expected.startswith(script_root + "/") or expected.startswith(base + "/")
        assert len(built) == (1 if memoized else 2), (source, built)
