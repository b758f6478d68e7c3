"""Blueprints: name = URL prefix = template folder = test module name."""
from importlib import import_module

BLUEPRINTS = [
    "main",
    "auth",
    "consent",
    "family",
    "join",
    "classes",
    "admin",
    "classroom",
    "reports",
    "reading",
    "points",
    "stories",
    "media",
    "portfolio",
    "consents",
    "translate",
    "calendar",
    "messages",
    "safeguarding",
    "moderation",
    "exports",
    "retention",
    "monitoring",
    "audit",
    "privacy",
    "notifications",
]


def register_blueprints(app):
    for name in BLUEPRINTS:
        module = import_module(f"{__name__}.{name}.routes")
        app.register_blueprint(module.bp)
