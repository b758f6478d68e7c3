"""Deny by default (SECURITY.md 11): every endpoint declares who may use it."""


def test_every_endpoint_declares_a_policy(app):
    missing = [endpoint for endpoint, view in app.view_functions.items()
               if not callable(getattr(view, "policy", None))]
    assert missing == []


def test_state_changing_endpoints_refuse_get(app):
    """Endpoints that only change state accept no GET (SECURITY.md 15)."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint in {"auth.logout", "main.set_language"}:
            assert "GET" not in rule.methods
