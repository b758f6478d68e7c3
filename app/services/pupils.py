"""Small shared rules about pupils and classes: codes, picture passwords, display names."""
import secrets

from sqlalchemy import select

from ..extensions import db
from ..models import SchoolClass
from ..models.people import AVATARS, PICTURES
from ..models.school import YOUNG_YEAR_GROUP_MAX

# Easy to read aloud and type: no 0/O, no 1/l/I.
UNAMBIGUOUS = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CLASS_CODE_LENGTH = 6


def random_code(length, alphabet=UNAMBIGUOUS):
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_class_code():
    """A class code no other class uses (about 30 bits; the class list still needs a picture password)."""
    while True:
        code = random_code(CLASS_CODE_LENGTH)
        if db.session.scalar(select(SchoolClass.id).where(SchoolClass.class_code == code)) is None:
            return code


def picture_password_length(year_group):
    return 3 if year_group <= YOUNG_YEAR_GROUP_MAX else 4


def new_picture_password(year_group):
    """A sequence of distinct pictures: 3 for Nursery to Year 2, 4 from Year 3."""
    names = list(PICTURES)
    chosen = []
    while len(chosen) < picture_password_length(year_group):
        pick = secrets.choice(names)
        if pick not in chosen:
            chosen.append(pick)
    return "-".join(chosen)


def random_avatar():
    return secrets.choice(AVATARS)


def display_name_from(forename, surname):
    """First name and the surname's initial (SECURITY.md 25): "Zosia K."."""
    forename = (forename or "").strip()
    surname = (surname or "").strip()
    if not surname:
        return forename
    return f"{forename} {surname[0].upper()}."
