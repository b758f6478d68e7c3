"""Checks that a shipped interface catalog is complete and safe to format.

Used by the test suite (a shipped language must pass) and by `flask i18n check`."""
import os
import re

from babel.messages.pofile import read_po

PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%%|%[sdif]")


def placeholders(text):
    """The named placeholders in a message, as a set ("%%" is a literal percent sign)."""
    return {m.group(1) for m in PLACEHOLDER.finditer(text or "") if m.group(1)}


def catalog_path(root, code):
    return os.path.join(root, code, "LC_MESSAGES", "messages.po")


def load(root, code):
    with open(catalog_path(root, code), "rb") as handle:
        return read_po(handle, locale=code)


def problems(catalog, template=None):
    """Every reason the catalog cannot ship, one line each (an empty list means it can).

    - an entry of the template (messages.pot) that the catalog lacks;
    - an entry left empty, or marked fuzzy;
    - a translation whose named placeholders differ from the English. A plural form may leave
      out %(num)s (Arabic says "one point" in words), but never adds a name or drops another."""
    found = []
    if template is not None:
        for message in template:
            if message.id and catalog.get(message.id, message.context) is None:
                found.append(f"missing: {_first(message.id)!r}")
    for message in catalog:
        if not message.id:
            continue
        label = repr(_first(message.id))
        if message.fuzzy:
            found.append(f"fuzzy: {label}")
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if not all(strings) or len(strings) != (catalog.num_plurals if message.pluralizable else 1):
            found.append(f"untranslated: {label}")
            continue
        if message.pluralizable:
            wanted = placeholders(message.id[0]) | placeholders(message.id[1])
            for form in strings:
                got = placeholders(form)
                if not got <= wanted or (wanted - {"num"}) - got:
                    found.append(f"placeholders {sorted(got)} != {sorted(wanted)}: {label}")
                    break
        elif placeholders(strings[0]) != placeholders(message.id):
            found.append(f"placeholders {sorted(placeholders(strings[0]))} != "
                         f"{sorted(placeholders(message.id))}: {label}")
    return found


def _first(msgid):
    return msgid[0] if isinstance(msgid, (list, tuple)) else msgid
