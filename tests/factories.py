"""Object factories for tests: call them with only what the test cares about."""
import itertools
from datetime import timedelta

from app.extensions import db
from app.models import ParentLink, Pupil, School, SchoolClass, Team, User
from app.models.base import utcnow
from app.models.people import ROLE_HEAD, ROLE_PARENT, ROLE_SENIOR, ROLE_TEACHER
from app.services.accounts import hash_password

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)
_HASH = None


def _password_hash():
    global _HASH
    if _HASH is None:
        _HASH = hash_password(PASSWORD)
    return _HASH


def make_school(name=None, **kw):
    n = next(_seq)
    school = School(name=name or f"Test Primary {n}", slug=kw.pop("slug", f"test-{n}"),
                    office_phone=kw.pop("office_phone", "0161 496 0000"),
                    office_email=kw.pop("office_email", f"office{n}@school.test"), **kw)
    db.session.add(school)
    db.session.flush()
    from app.services.consent import ensure_default_documents
    from app.services.points import ensure_default_categories
    ensure_default_documents(school)
    ensure_default_categories(school)
    db.session.commit()
    return school


def make_class(school, name=None, year_group=4, academic_year=None, teachers=(), **kw):
    n = next(_seq)
    from app.services.school_calendar import current_academic_year
    klass = SchoolClass(school_id=school.id, name=name or f"C{n}", year_group=year_group,
                        academic_year=academic_year or current_academic_year(),
                        class_code=kw.pop("class_code", f"K{n:05d}"), **kw)
    klass.teachers.extend(teachers)
    db.session.add(klass)
    db.session.commit()
    return klass


def make_user(school, role, email=None, name=None, **kw):
    n = next(_seq)
    user = User(school_id=school.id, email=email or f"{role}{n}@people.test", name=name or f"{role.title()} {n}",
                role=role, password_hash=_password_hash(), **kw)
    db.session.add(user)
    db.session.commit()
    return user


def make_teacher(school, classes=(), **kw):
    user = make_user(school, ROLE_TEACHER, **kw)
    user.classes.extend(classes)
    db.session.commit()
    return user


def make_senior(school, **kw):
    return make_user(school, ROLE_SENIOR, **kw)


def make_head(school, **kw):
    return make_user(school, ROLE_HEAD, **kw)


def make_parent(school, children=(), acknowledged=True, **kw):
    user = make_user(school, ROLE_PARENT, **kw)
    for child in children:
        db.session.add(ParentLink(parent_id=user.id, pupil_id=child.id))
    db.session.commit()
    if acknowledged:
        from app.services.consent import acknowledge, outstanding_documents
        acknowledge(user, outstanding_documents(user))
    return user


def make_pupil(school_class, name=None, **kw):
    n = next(_seq)
    pupil = Pupil(school_id=school_class.school_id, class_id=school_class.id,
                  display_name=name or f"Pupil {n}.", picture_password=kw.pop("picture_password", "sun-cat-tree"),
                  avatar=kw.pop("avatar", "fox"), **kw)
    db.session.add(pupil)
    db.session.commit()
    return pupil


def make_team(school, name=None, colour="blue"):
    team = Team(school_id=school.id, name=name or f"Team {next(_seq)}", colour=colour)
    db.session.add(team)
    db.session.commit()
    return team


def later(days=0, **kw):
    return utcnow() + timedelta(days=days, **kw)


def make_cast(school, klass, other_class, pupil):
    """One person of each kind around `klass` and its `pupil`, for access tables; plus a head of
    another school, who must see nothing of this one."""
    return {
        "teacher of class": make_teacher(school, classes=[klass]),
        "other teacher": make_teacher(school, classes=[other_class]),
        "teacher who runs the school": make_teacher(school, can_manage_school=True),
        "senior leader": make_senior(school),
        "head": make_head(school),
        "parent": make_parent(school, children=[pupil]),
        "pupil": pupil,
        "other school's head": make_head(make_school()),
    }


def photo_upload(name="photo.jpg", size=(64, 48), colour=(200, 120, 40), fmt="JPEG", **save):
    """A real image file as a browser would send it (a werkzeug FileStorage)."""
    import io

    from PIL import Image
    from werkzeug.datastructures import FileStorage
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, fmt, **save)
    buffer.seek(0)
    return FileStorage(stream=buffer, filename=name, content_type="image/jpeg")


def make_photo(uploader, tags=(), no_child=False, **kw):
    """A photo through the real pipeline, staged (not in a post yet) and tagged."""
    from app.models import MediaTag
    from app.services.media import store_upload
    media = store_upload(photo_upload(**kw), school_id=uploader.school_id, uploaded_by=uploader)
    for pupil in tags:
        media.tags.append(MediaTag(pupil_id=pupil.id))
    media.no_child_confirmed = no_child
    db.session.commit()
    return media


def set_consent(pupil, value):
    """Photo consent as it would be recorded (history row and the pupil's current answer)."""
    from app.models import PhotoConsent
    db.session.add(PhotoConsent(school_id=pupil.school_id, pupil_id=pupil.id, value=value, source="staff"))
    pupil.photo_consent = value
    db.session.commit()
    return pupil


def make_post(author, school_class=None, body="Class news", kind="news", media=(), published=True,
              published_at=None, **kw):
    """A post straight into the database (no consent check: tests of the check post through the app)."""
    from app.models import Post
    when = published_at or (utcnow() - timedelta(minutes=1) if published else None)
    post = Post(school_id=author.school_id, class_id=school_class.id if school_class else None,
                author_id=author.id, kind=kind, body=body, published_at=when, **kw)
    db.session.add(post)
    db.session.flush()
    for position, item in enumerate(media):
        item.post_id, item.position = post.id, position
    db.session.commit()
    return post


def make_calendar_entry(school, kind="term", name=None, first_day=None, last_day=None, created_by=None):
    """A term, holiday, INSET day or bank holiday straight into the database (dates as given)."""
    from app.models import CalendarEntry
    entry = CalendarEntry(school_id=school.id, kind=kind, name=name or f"{kind.title()} {next(_seq)}",
                          first_day=first_day, last_day=last_day or first_day,
                          created_by_id=created_by.id if created_by else None)
    db.session.add(entry)
    db.session.commit()
    return entry


def make_staff_hours(user, days):
    """A staff member's own week: {weekday: (starts, ends)}."""
    from app.models import StaffHours
    for weekday, (starts, ends) in days.items():
        db.session.add(StaffHours(user_id=user.id, weekday=weekday, starts=starts, ends=ends))
    db.session.commit()
    return user


def make_away(user, first_day, last_day=None, note=""):
    from app.models import StaffAway
    away = StaffAway(school_id=user.school_id, user_id=user.id, first_day=first_day,
                     last_day=last_day or first_day, note=note)
    db.session.add(away)
    db.session.commit()
    return away


def make_comment(author, target, body="Lovely!", language=None, hidden=False):
    """A comment on a post or a portfolio item, straight into the database."""
    from app.models import Comment, Post
    field = "post_id" if isinstance(target, Post) else "portfolio_item_id"
    comment = Comment(school_id=author.school_id, author_id=author.id, body=body, language=language,
                      hidden_at=utcnow() if hidden else None, **{field: target.id})
    db.session.add(comment)
    db.session.commit()
    return comment


def make_translation(school, text, source, target, translated, provider="demo"):
    """A stored translation, as the cache keeps it."""
    from app.models import Translation
    from app.services.translation import source_hash
    row = Translation(school_id=school.id, source_hash=source_hash(source, text), target_language=target,
                      text=translated, provider=provider)
    db.session.add(row)
    db.session.commit()
    return row
