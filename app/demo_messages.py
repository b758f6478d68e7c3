"""The demo school's calendar, staff hours and conversations (part of `flask demo`).

Dates follow a typical English school year; messages are placed in the last few days so that the
demo shows unread messages, "Seen", a message sent to a whole class, a pupil's message and a
teacher away on a residential trip.
"""
from datetime import date, time, timedelta

from sqlalchemy import select

from .extensions import db
from .models import ParentLink, Pupil, PupilMessagingYear, SchoolClass, User
from .models.base import utcnow
from .models.calendar import CalendarEntry, StaffAway, StaffHours
from .services import messaging, notification_events
from .services.school_calendar import current_academic_year


def _calendar_rows(year):
    """A typical year in England (the school would enter or import its own)."""
    y, n = year, year + 1
    return [
        ("term", "Autumn term", date(y, 9, 2), date(y, 12, 18)),
        ("inset", "INSET day", date(y, 9, 2), date(y, 9, 2)),
        ("holiday", "Autumn half-term", date(y, 10, 26), date(y, 10, 30)),
        ("holiday", "Christmas holidays", date(y, 12, 21), date(n, 1, 1)),
        ("term", "Spring term", date(n, 1, 4), date(n, 3, 26)),
        ("inset", "INSET day", date(n, 1, 4), date(n, 1, 4)),
        ("holiday", "Spring half-term", date(n, 2, 15), date(n, 2, 19)),
        ("holiday", "Easter holidays", date(n, 3, 29), date(n, 4, 9)),
        ("term", "Summer term", date(n, 4, 12), date(n, 7, 21)),
        ("bank_holiday", "Early May bank holiday", date(n, 5, 3), date(n, 5, 3)),
        ("holiday", "Summer half-term", date(n, 5, 31), date(n, 6, 4)),
        ("inset", "INSET day", date(n, 7, 21), date(n, 7, 21)),
    ]


# The conversation's messages in the other side's language, as the translation cache would keep them
# (translated by people here, so the demo shows translated messages with no network).
THREAD_TRANSLATIONS = [
    ("pl", "en", "Dzień dobry, czy Zosia może w tym tygodniu przynieść strój na WF w czwartek zamiast "
                 "we wtorek? Jej strój jest jeszcze w praniu. Dziękuję, Anna",
     "Good morning, could Zosia bring her PE kit on Thursday this week instead of Tuesday? Her kit is "
     "still in the wash. Thank you, Anna"),
    ("en", "pl", "Of course, Thursday is fine. Zosia read beautifully to the class today!",
     "Oczywiście, czwartek jest w porządku. Zosia pięknie czytała dziś całej klasie!"),
    ("pl", "en", "Dziękujemy! Bardzo się cieszy, w domu czyta codziennie.",
     "Thank you! She is very happy, she reads every day at home."),
    ("en", "pl", "Lovely to hear. The spelling test moves to next Monday because of the trip.",
     "Miło to słyszeć. Z powodu wycieczki sprawdzian z pisowni przenosimy na przyszły poniedziałek."),
    ("en", "pl", "Reminder: our trip to the Science Museum is on Friday. Please return the permission slip by "
                 "Wednesday, and send your child with a packed lunch in a bag with their name on it.",
     "Przypomnienie: nasza wycieczka do Muzeum Nauki odbędzie się w piątek. Prosimy o zwrot zgody do "
     "środy i o zapakowany lunch w torbie podpisanej imieniem dziecka."),
]


def _store_translations(school, rows):
    from .models import Translation
    from .services.translation import source_hash
    for source, target, text, translated in rows:
        db.session.add(Translation(school_id=school.id, source_hash=source_hash(source, text),
                                   target_language=target, text=translated, provider="demo"))
    db.session.commit()


def _teacher(school, class_name):
    klass = db.session.scalar(select(SchoolClass).where(SchoolClass.school_id == school.id,
                                                         SchoolClass.name == class_name))
    return klass, klass.teachers[0]


def add_calendar_and_messages(school):
    year = current_academic_year()
    db.session.add_all(CalendarEntry(school_id=school.id, kind=kind, name=name, first_day=first, last_day=last)
                       for kind, name, first, last in _calendar_rows(year))
    # Mr Walsh (Reception) works Tuesday to Thursday.
    _rw, walsh = _teacher(school, "RW")
    db.session.add_all(StaffHours(user_id=walsh.id, weekday=d, starts=time(8, 0), ends=time(17, 30)) for d in (1, 2, 3))
    # Mr Hussain takes Year 6 on their residential trip next week.
    _six, hussain = _teacher(school, "6H")
    today = date.today()
    monday = today + timedelta(days=7 - today.weekday())
    db.session.add(StaffAway(school_id=school.id, user_id=hussain.id, first_day=monday,
                             last_day=monday + timedelta(days=4), note="Year 6 residential trip"))
    # Pupils from Year 3 to Year 6 may message their teachers.
    db.session.add_all(PupilMessagingYear(school_id=school.id, year_group=g) for g in (4, 5, 6, 7))
    db.session.commit()

    three_k, king = _teacher(school, "3K")
    parent = db.session.scalar(select(User).where(User.school_id == school.id, User.email.like("parent@%")))
    zosia = db.session.scalar(select(Pupil).join(ParentLink, ParentLink.pupil_id == Pupil.id)
                              .where(ParentLink.parent_id == parent.id, Pupil.class_id == three_k.id))
    now = utcnow()
    parent.always_translate = True  # she reads the teacher's English in Polish straight away
    # A class reminder, sent to every 3K family at once (each in its own conversation).
    families = list(db.session.scalars(select(Pupil.id).where(Pupil.class_id == three_k.id,
                                                               Pupil.status == "active")))
    messaging.broadcast(king, three_k, families, body=(
        "Reminder: our trip to the Science Museum is on Friday. Please return the permission slip by "
        "Wednesday, and send your child with a packed lunch in a bag with their name on it."),
        language="en", now=now - timedelta(days=3, hours=2))
    # Anna Kowalska writes in Polish; Mrs King reads it translated and replies.
    thread = [
        (parent, "pl", "Dzień dobry, czy Zosia może w tym tygodniu przynieść strój na WF w czwartek zamiast "
                       "we wtorek? Jej strój jest jeszcze w praniu. Dziękuję, Anna", timedelta(days=2, hours=5)),
        (king, "en", "Of course, Thursday is fine. Zosia read beautifully to the class today!",
         timedelta(days=2, hours=3)),
        (parent, "pl", "Dziękujemy! Bardzo się cieszy, w domu czyta codziennie.", timedelta(days=1, hours=20)),
        (king, "en", "Lovely to hear. The spelling test moves to next Monday because of the trip.", timedelta(hours=5)),
    ]
    for sender, language, body, ago in thread:
        messaging.send(sender, staff=king, pupil=zosia, parent=parent, body=body, language=language, now=now - ago)
    _store_translations(school, THREAD_TRANSLATIONS)
    convo = messaging.find_conversation(king, zosia, parent)
    convo.staff_read_id, convo.staff_read_at = convo.last_to_staff_id, now - timedelta(days=1, hours=18)
    notification_events.conversation_read(king, convo, convo.staff_read_at)
    # Zosia, on the class iPad, tells her teacher about her poster.
    messaging.send(zosia, staff=king, pupil=zosia, body="I finished my volcano poster! Can I show the class?",
                   language="en", now=now - timedelta(days=1, hours=2))
    messaging.send(king, staff=king, pupil=zosia, body="Brilliant, Zosia! Yes, bring it in tomorrow morning.",
                   language="en", now=now - timedelta(days=1, hours=1))
    db.session.commit()
    return convo
