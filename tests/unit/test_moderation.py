"""Finding words from the school's lists (issue 8): whole words only, whatever the case or letter
forms, in every script the school's families write in; the default English list; parsing a list."""
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.services.moderation import (
    MAX_WORD,
    WordListError,
    default_words,
    find_words,
    normalise,
    parse_word_list,
)

WORDS = ["twat", "piss off", "ass", "cunt"]


@pytest.mark.parametrize("text, found", [
    ("Scunthorpe United won", []),
    ("A classic film, said the passenger", []),
    ("What an ass!", ["ass"]),
    ("ASS.", ["ass"]),
    ("You TWAT", ["twat"]),
    ("twats", []),  # a longer word is not the word
    ("Piss   off\nnow", ["piss off"]),  # a phrase across spaces and a line break
    ("pissoff", []),
    ("“twat”, (cunt)", ["twat", "cunt"]),  # punctuation is a boundary; list order, each once
    ("twat twat TWAT", ["twat"]),
    ("", []),
])
def test_whole_words_and_phrases_only(text, found):
    assert find_words(text, WORDS) == found


def test_letter_forms_and_hidden_characters_do_not_hide_a_word():
    assert find_words("ＴＷＡＴ", ["twat"]) == ["twat"]  # full-width letters (NFKC)
    assert find_words("tw\u200bat", ["twat"]) == ["twat"]  # a zero-width space inside
    assert find_words("Straße", ["strasse"]) == ["strasse"]  # case folding, not only lower()
    assert find_words("don’t be a tw*t", ["don't"]) == ["don't"]  # a curly apostrophe


@pytest.mark.parametrize("word, text, found", [
    ("كلب", "أنت كلب!", True),           # Arabic
    ("كلب", "أنت كَلْب", True),           # Arabic with vowel marks
    ("كلب", "كلبة", False),              # a longer Arabic word
    ("کتا", "تم کتا ہو", True),           # Urdu
    ("বোকা", "তুমি বোকা।", True),          # Bengali: vowel signs are combining marks
    ("বোকা", "বোকামি করো না", False),      # a longer Bengali word
    ("durak", "Jesteś durak", True),
    ("kurwa", "Kurwa mać", True),
])
def test_other_scripts(word, text, found):
    assert find_words(text, [word]) == ([word] if found else [])


letters = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=12)


@given(word=letters, before=letters, after=letters)
def test_a_word_inside_a_longer_word_never_matches(word, before, after):
    # Only letters: the text has no boundary but its two ends, and it is longer than the word.
    assert find_words(before + word + after, [word]) == []


@given(word=letters, before=st.text(max_size=20), after=st.text(max_size=20))
def test_a_word_between_spaces_always_matches(word, before, after):
    assert find_words(f"{before} {word.upper()} {after}", [word]) == [word]


@given(st.text(max_size=40))
def test_normalising_is_stable(text):
    assert normalise(normalise(text)) == normalise(text)


def test_parse_word_list_is_a_set_of_normalised_lines():
    assert parse_word_list("Bother\n\n  bother  \nBLAST it\r\n") == ["blast it", "bother"]
    assert parse_word_list("") == []


def test_parse_word_list_refuses_a_long_line_and_names_it():
    with pytest.raises(WordListError) as refused:
        parse_word_list("fine\n" + "x" * (MAX_WORD + 1))
    assert "Line 2" in refused.value.message and str(MAX_WORD + 1) in refused.value.message
    assert parse_word_list("x" * MAX_WORD) == ["x" * MAX_WORD]


def test_the_default_english_list():
    words = default_words("en")
    assert "fuck" in words and "kill yourself" in words
    assert not {"ass", "tit", "cock", "stupid", "bloody"} & set(words)  # everyday words at school
    assert all(0 < len(w) <= MAX_WORD and w == normalise(w) for w in words)
    assert default_words("pl") == ()
    assert find_words("Scunthorpe is a classic town", words) == []
