"""Every shipped interface language is complete: each string the code marks (extracted afresh, so a
forgotten `make i18n` fails here too) has a translation, none is fuzzy, and every translation keeps
the English's named placeholders. Plural forms follow each language's rules."""
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from babel.support import Translations

from app.i18n import LANGUAGE_NAMES
from app.i18n.catalogs import load, placeholders, problems

ROOT = Path(__file__).resolve().parents[2]
I18N = ROOT / "app" / "i18n"
REQUIRED = {"pl", "ur", "ar", "ro", "pa", "bn", "pt", "es", "lt", "so", "uk", "gu"}
SHIPPED = sorted(p.parent.parent.name for p in I18N.glob("*/LC_MESSAGES/messages.po"))


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    out = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run([str(Path(sys.executable).with_name("pybabel")), "-q", "extract", "-F", "babel.cfg",
                    "-k", "_l", "-k", "lazy_gettext", "-k", "lazy_ngettext:1,2", "-o", str(out), "app"],
                   cwd=ROOT, check=True)
    with open(out, "rb") as handle:
        return read_po(handle)


def test_the_twelve_languages_ship_and_the_picker_names_them():
    assert REQUIRED <= set(SHIPPED)
    assert set(SHIPPED) <= set(LANGUAGE_NAMES)


@pytest.mark.parametrize("code", SHIPPED)
def test_a_shipped_catalog_is_complete_and_safe(code, extracted):
    found = problems(load(str(I18N), code), extracted)
    assert found == [], f"{code}: {len(found)} problems, e.g. {found[:5]}"


def test_the_check_catches_what_it_should(extracted):
    catalog = load(str(I18N), "pl")
    message = next(m for m in catalog if m.id and not m.pluralizable and placeholders(m.id))
    message.string = "bez nazwy"
    message.flags.add("fuzzy")
    found = problems(catalog, extracted)
    assert any(line.startswith("fuzzy") for line in found)
    assert any(line.startswith("placeholders") for line in found)
    catalog.delete(message.id, message.context)
    assert any(line.startswith("missing") for line in problems(catalog, extracted))


@pytest.mark.parametrize("code,counts", [
    ("pl", {1: "1 ", 3: "3 ", 5: "5 ", 22: "22 "}),
    ("lt", {1: "1 ", 2: "2 ", 11: "11 "}),
    ("ar", {0: "", 2: "", 3: "3 ", 11: "11 "}),
])
def test_plural_forms_follow_the_language(code, counts, tmp_path):
    po = I18N / code / "LC_MESSAGES" / "messages.po"
    mo = tmp_path / "messages.mo"
    subprocess.run([str(Path(sys.executable).with_name("pybabel")), "-q", "compile", "-i", str(po), "-o", str(mo),
                    "-l", code], check=True)
    with open(mo, "rb") as handle:
        translations = Translations(handle)
    forms = set()
    for n, start in counts.items():
        text = translations.ngettext("%(num)d point", "%(num)d points", n) % {"num": n}
        assert text.startswith(start) or str(n) not in text, text
        forms.add(text.replace(str(n), "N"))
    assert len(forms) >= 2  # the language's forms differ, not English's two copied
