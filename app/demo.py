"""`flask demo`: Hearth Demo Primary, one class per year group, with people and sign-ins."""
import os
import random

import click
from flask import current_app
from sqlalchemy import select

from .extensions import db
from .models import ParentLink, Pupil, School, SchoolClass, Team, User
from .models.people import AVATARS, ROLE_HEAD, ROLE_PARENT, ROLE_SENIOR, ROLE_TEACHER
from .services.accounts import hash_password
from .services.consent import acknowledge, ensure_default_documents, outstanding_documents
from .services.points import ensure_default_categories
from .services.pupils import display_name_from, new_picture_password
from .services.school_calendar import current_academic_year

DEMO_SLUG = "hearth-demo"
DEMO_DOMAIN = "hearth-demo.example"
STAFF_PASSWORD = "demo-staff-password"
PARENT_PASSWORD = "demo-parent-password"
# (class name, year group, class code, teacher name)
DEMO_CLASSES = [
    ("N1", 0, "NURSER", "Mrs Aisha Rahman"),
    ("RW", 1, "RWREDS", "Mr Tom Walsh"),
    ("1P", 2, "PANDAS", "Ms Priya Patel"),
    ("2S", 3, "STARS2", "Mr Daniel Sousa"),
    ("3K", 4, "HEARTH", "Mrs Katarzyna King"),
    ("4M", 5, "MAPLES", "Mr Musa Mensah"),
    ("5A", 6, "ASPENS", "Ms Ana Albu"),
    ("6H", 7, "HAZELS", "Mr Hamid Hussain"),
]
FIRST_NAMES = [
    "Amelia", "Oliver", "Isla", "Noah", "Ava", "Leo", "Freya", "Arthur", "Mia", "George", "Ruby",
    "Muhammad", "Aisha", "Yusuf", "Fatima", "Ibrahim", "Zainab", "Hamza", "Maryam", "Ayaan", "Inaya",
    "Zofia", "Jakub", "Lena", "Antoni", "Hanna", "Filip", "Julia", "Szymon",
    "Andrei", "Ioana", "Elena", "Matei", "Sofia", "Luca", "Daria",
    "Tasnim", "Rahim", "Nusrat", "Arif", "Sadia", "Imran",
    "Harpreet", "Gurveer", "Simran", "Arjun", "Anaya", "Kiran",
    "Hodan", "Abdi", "Ayan", "Liban", "Sagal",
    "Chidera", "Tobi", "Amara", "Kwame", "Efua", "Kofi",
    "Beatriz", "Tiago", "Lucas", "Inês", "Mateo", "Valentina", "Diego", "Lucía",
    "Jonas", "Gabija", "Matas", "Emilija", "Sofiia", "Maksym", "Anastasiia", "Bohdan",
    "Aarav", "Diya", "Vihaan", "Saanvi", "Yiming", "Mei", "Siobhán", "Niamh", "Cian", "Alfie", "Grace",
]
SURNAMES = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts", "Walker",
    "Khan", "Hussain", "Ahmed", "Ali", "Begum", "Rahman", "Iqbal", "Akhtar", "Mahmood",
    "Kowalski", "Nowak", "Wiśniewska", "Mazur", "Zieliński", "Popescu", "Ionescu", "Dumitru", "Stan",
    "Singh", "Kaur", "Sandhu", "Patel", "Shah", "Warsame", "Mohamed", "Farah", "Okafor", "Mensah",
    "Boateng", "Adeyemi", "Silva", "Santos", "Oliveira", "García", "López", "Petrauskas", "Kazlauskas",
    "Kovalenko", "Shevchenko", "Bondarenko", "Chen", "Wang", "O'Connor", "Murphy",
]
# Families who read another language better than English.
LANGUAGE_BY_SURNAME = {
    "Kowalski": "pl", "Nowak": "pl", "Wiśniewska": "pl", "Mazur": "pl", "Zieliński": "pl",
    "Popescu": "ro", "Ionescu": "ro", "Dumitru": "ro", "Stan": "ro",
    "Khan": "ur", "Hussain": "ur", "Iqbal": "ur", "Akhtar": "ur", "Mahmood": "ur",
    "Ahmed": "ar", "Ali": "ar", "Begum": "bn", "Rahman": "bn", "Singh": "pa", "Kaur": "pa",
    "Sandhu": "pa", "Patel": "gu", "Shah": "gu", "Warsame": "so", "Mohamed": "so", "Farah": "so",
    "Silva": "pt", "Santos": "pt", "Oliveira": "pt", "García": "es", "López": "es",
    "Petrauskas": "lt", "Kazlauskas": "lt", "Kovalenko": "uk", "Shevchenko": "uk", "Bondarenko": "uk",
}
LANGUAGE_NAMES_EN = {"pl": "Polish", "ro": "Romanian", "ur": "Urdu", "ar": "Arabic", "bn": "Bengali",
                     "pa": "Panjabi", "gu": "Gujarati", "so": "Somali", "pt": "Portuguese",
                     "es": "Spanish", "lt": "Lithuanian", "uk": "Ukrainian"}
TEAMS = [("Oak", "green"), ("Ash", "blue"), ("Rowan", "red"), ("Willow", "yellow")]
SAMPLE_CSV = os.path.join("..", "shared", "data", "pupils-mis-export.csv")


def _email(local):
    return f"{local}@{DEMO_DOMAIN}"


def _user(school, role, local, name, password, locale=None, manage=False):
    user = User(school_id=school.id, email=_email(local), name=name, role=role, locale=locale,
                password_hash=hash_password(password), can_manage_school=manage)
    db.session.add(user)
    return user


def build_demo(rng=None):
    """Create the demo school. Returns it; does nothing if it exists already.

    The emails its seeding plans (a class message to families, say) go to the outbox folder without
    being printed, so that the sign-ins stay readable."""
    quiet = current_app.config.get("MAIL_QUIET")
    current_app.config["MAIL_QUIET"] = True
    try:
        return _build_demo(rng)
    finally:
        current_app.config["MAIL_QUIET"] = quiet


def _build_demo(rng=None):
    existing = db.session.scalar(select(School).where(School.slug == DEMO_SLUG))
    if existing is not None:
        return existing, False
    rng = rng or random.Random(20260901)
    year = current_academic_year()
    school = School(name="Hearth Demo Primary", slug=DEMO_SLUG, timezone="Europe/London",
                    office_phone="0161 496 0123", office_email="office@" + DEMO_DOMAIN)
    db.session.add(school)
    db.session.flush()
    ensure_default_documents(school)
    ensure_default_categories(school)
    teams = [Team(school_id=school.id, name=n, colour=c) for n, c in TEAMS]
    db.session.add_all(teams)

    _user(school, ROLE_HEAD, "head", "Mrs Helen Okoro", STAFF_PASSWORD)
    _user(school, ROLE_SENIOR, "senior", "Mr Rajesh Gupta", STAFF_PASSWORD, manage=True)
    classes = {}
    staff_password_hash = hash_password(STAFF_PASSWORD)
    for name, year_group, code, teacher_name in DEMO_CLASSES:
        klass = SchoolClass(school_id=school.id, name=name, year_group=year_group, academic_year=year,
                            class_code=code)
        local = "teacher" if name == "3K" else "teacher." + name.lower()
        teacher = User(school_id=school.id, email=_email(local), name=teacher_name, role=ROLE_TEACHER,
                       password_hash=staff_password_hash)
        klass.teachers.append(teacher)
        db.session.add_all([klass, teacher])
        classes[name] = klass
    db.session.flush()

    pupils = _sample_pupils(school, classes, teams, rng)
    # The README's family, also when the shared sample export is not beside the project.
    for class_name, first, home_language in (("3K", "Zosia", "Polish"), ("RW", "Maja", "Polish")):
        if not any(p.display_name.startswith(first + " ") and p.class_id == classes[class_name].id
                   for p in pupils):
            pupils.append(_pupil(school, classes[class_name], display_name_from(first, "Kowalska"), rng,
                                 teams, home_language, surname="Kowalska"))
    used = {p.display_name for p in pupils}
    for name, _year_group, _code, _t in DEMO_CLASSES:
        klass = classes[name]
        have = sum(1 for p in pupils if p.class_id == klass.id)
        target = rng.randint(20, 28)
        while have < target:
            first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
            display = display_name_from(first, last)
            if display in used:
                continue
            used.add(display)
            pupils.append(_pupil(school, klass, display, rng, teams,
                                 LANGUAGE_NAMES_EN.get(LANGUAGE_BY_SURNAME.get(last), "English"),
                                 surname=last))
            have += 1
    db.session.flush()
    _families(school, pupils, rng)
    _points_history(school, rng)
    db.session.commit()
    _class_stories(school, rng)
    _story_notifications(school)
    _stored_translations(school)
    from .demo_messages import add_calendar_and_messages
    add_calendar_and_messages(school)
    from .demo_safeguarding import seed_safeguarding
    seed_safeguarding(school)
    return school, True


STORY_POSTS = [
    ("news", "This week we have been learning about {topic}. Ask your child to tell you one thing they "
             "found out!"),
    ("celebration", "A huge well done to everyone for our class assembly this morning. We were so proud "
                    "of how clearly you all spoke."),
    ("reminder", "PE is on Tuesday and Thursday this half term: please send your child in their PE kit. "
                 "Water bottles every day, please."),
    ("home_learning", "Home learning this week: read together for 10 minutes a day and practise the spellings "
                      "in the reading record. There are free phonics games at https://www.bbc.co.uk/bitesize"),
    ("news", "Our science investigation today: which material keeps an ice cube frozen longest? The "
             "results were a surprise."),
    ("celebration", "Our reading champions this week have read every single day. Thank you, families, for "
                    "all your support at home."),
]
TOPICS = ["the Romans", "volcanoes", "the water cycle", "plants and seeds", "the Great Fire of London",
          "forces and magnets", "rivers", "our local area"]


def _demo_picture(rng, width=1600, height=1200):
    """A made-up "photo of learning": paint blobs on paper. Never a picture of a real child."""
    import io

    from PIL import Image, ImageDraw, ImageFilter
    from werkzeug.datastructures import FileStorage
    paper = tuple(rng.randint(225, 250) for _ in range(3))
    image = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(6, 14)):
        colour = tuple(rng.randint(20, 230) for _ in range(3))
        x, y = rng.randint(-200, width), rng.randint(-200, height)
        size = rng.randint(80, 500)
        if rng.random() < 0.5:
            draw.ellipse((x, y, x + size, y + size * rng.uniform(0.5, 1.2)), fill=colour)
        else:
            draw.rounded_rectangle((x, y, x + size, y + size // 2), radius=30, fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(2))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    buffer.seek(0)
    return FileStorage(stream=buffer, filename="photo.jpg", content_type="image/jpeg")


def _class_stories(school, rng, weeks=6):
    """Photo consent for every pupil, and a few weeks of Class Story posts with photos, likes and
    comments (pictures are drawn, never photographs of children)."""
    from datetime import timedelta

    from .models import Comment, Like, MediaTag, PhotoConsent, Post
    from .models.base import utcnow
    from .services.media import store_upload
    pupils = list(db.session.scalars(select(Pupil).where(Pupil.school_id == school.id)))
    for pupil in pupils:
        roll = rng.random()
        value = "yes" if roll < 0.85 else ("no" if roll < 0.93 else None)
        if pupil.display_name.startswith(("Zosia ", "Maja ")):
            value = "yes"
        if value:
            pupil.photo_consent = value
            db.session.add(PhotoConsent(school_id=school.id, pupil_id=pupil.id, value=value, source="paper"))
    parents_by_pupil = {}
    for link in db.session.scalars(select(ParentLink).join(Pupil).where(Pupil.school_id == school.id)):
        parents_by_pupil.setdefault(link.pupil_id, []).append(link.parent_id)
    now = utcnow()
    classes = list(db.session.scalars(select(SchoolClass).where(SchoolClass.school_id == school.id)))
    for klass in classes:
        teacher = klass.teachers[0]
        members = [p for p in pupils if p.class_id == klass.id]
        consenting = [p for p in members if p.photo_consent == "yes"]
        families = [pid for p in members for pid in parents_by_pupil.get(p.id, [])]
        for n in range(weeks * 2):
            kind, text = STORY_POSTS[n % len(STORY_POSTS)]
            day = now - timedelta(days=(weeks * 2 - n) * 3.5)
            when = day.replace(hour=rng.randint(12, 15), minute=rng.choice([5, 20, 35, 50]), second=0, microsecond=0)
            post = Post(school_id=school.id, class_id=klass.id, author_id=teacher.id, kind=kind,
                        body=text.format(topic=rng.choice(TOPICS)), published_at=when, created_at=when)
            db.session.add(post)
            db.session.flush()
            photos = rng.choice([0, 1, 2, 3]) if n >= weeks * 2 - 4 else 0
            for position in range(photos):
                media = store_upload(_demo_picture(rng), school_id=school.id, uploaded_by=teacher,
                                     allow=("image",))
                media.post_id, media.position, media.created_at = post.id, position, when
                media.alt_text = "Children's paintings on the classroom wall"
                for pupil in rng.sample(consenting, k=min(len(consenting), rng.randint(1, 3))):
                    media.tags.append(MediaTag(pupil_id=pupil.id))
            for parent_id in rng.sample(families, k=min(len(families), rng.randint(0, 8))):
                db.session.add(Like(user_id=parent_id, post_id=post.id, created_at=when))
            if families and rng.random() < 0.4:
                db.session.add(Comment(school_id=school.id, author_id=rng.choice(families), post_id=post.id,
                                       body=rng.choice(["Thank you!", "Lovely to see this.",
                                                        "She told us all about it at tea time."]),
                                       created_at=when + timedelta(hours=3)))
    head = db.session.scalar(select(User).where(User.school_id == school.id, User.role == ROLE_HEAD))
    db.session.add(Post(school_id=school.id, class_id=None, author_id=head.id, kind="reminder",
                        body="Welcome to Hearth, our new way to share your child's learning. The school "
                             "office is still the place for absence, urgent matters and complaints.",
                        published_at=now - timedelta(days=40), created_at=now - timedelta(days=40),
                        pinned_at=now - timedelta(days=40)))
    db.session.commit()


def _story_notifications(school):
    """What the Class Story told people, as it would have at the time: each class's newest post
    announced to its families, and the likes and comments on it to its teacher. Older posts count
    as told already (``notified_at``), so the first `flask notify send-due` announces nothing late."""
    from datetime import timedelta

    from sqlalchemy import update

    from .models import Comment, Like, Post
    from .models.base import utcnow
    from .services import notification_events
    now = utcnow()
    newest = {}
    for post in db.session.scalars(select(Post).where(Post.school_id == school.id, Post.class_id.is_not(None))
                                   .order_by(Post.published_at)):
        newest[post.class_id] = post
    db.session.execute(update(Post).where(Post.school_id == school.id).values(notified_at=Post.published_at)
                       .execution_options(synchronize_session=False))
    for post in newest.values():
        notification_events.announce_post(post, post.published_at)
        responses = [(like.created_at, db.session.get(User, like.user_id), None) for like in db.session.scalars(
            select(Like).where(Like.post_id == post.id).order_by(Like.id))]
        responses += [(comment.created_at, comment.author, comment) for comment in db.session.scalars(
            select(Comment).where(Comment.post_id == post.id).order_by(Comment.id))]
        for n, (_at, person, comment) in enumerate(responses, start=1):
            when = min(post.published_at + timedelta(minutes=25 * n), now)  # the evening after it went up
            if comment is None:
                notification_events.like_added(post, person, now=when)
            else:
                notification_events.comment_added(comment, post, now=when)
    db.session.commit()


DEMO_TRANSLATIONS = os.path.join(os.path.dirname(__file__), "data", "demo_translations.json")


def _stored_translations(school):
    """The Class Story's posts in the demo families' languages, translated by people and stored as
    the translation cache would store them: the demo shows translation working with no network.
    Text nobody translated here (new posts) goes to the configured provider, if any."""
    import json

    from .models import GlossaryTerm, Post, Translation
    from .services.translation import source_hash
    with open(DEMO_TRANSLATIONS, encoding="utf-8") as fh:
        stored = json.load(fh)
    source = stored["source_language"]
    wanted = set(db.session.scalars(select(User.locale).where(
        User.school_id == school.id, User.role == ROLE_PARENT, User.locale.is_not(None))))
    texts = set(db.session.scalars(select(Post.body).where(Post.school_id == school.id)))
    for text in sorted(texts):
        for language, translated in sorted(stored["translations"].get(text, {}).items()):
            if language in wanted:
                db.session.add(Translation(school_id=school.id, source_hash=source_hash(source, text),
                                           target_language=language, text=translated, provider="demo"))
    db.session.add(GlossaryTerm(school_id=school.id, term="Hearth"))  # the app's name stays as it is
    db.session.commit()


def _points_history(school, rng, weeks=6):
    """Team points for the last few school weeks, so the demo shows totals and charts."""
    from datetime import timedelta

    from sqlalchemy import insert

    from .models import PointAward, PointCategory
    from .models.base import utcnow
    from .services.points import school_today, utc_start_of
    categories = db.session.scalars(select(PointCategory).where(
        PointCategory.school_id == school.id, PointCategory.kind == "positive")).all()
    teachers = {c.id: c.teachers[0].id for c in db.session.scalars(
        select(SchoolClass).where(SchoolClass.school_id == school.id))}
    pupils = db.session.execute(select(Pupil.id, Pupil.class_id, Pupil.team_id).where(
        Pupil.school_id == school.id)).all()
    today = school_today(school)
    now = utcnow()
    rows = []
    for back in range(weeks * 7, -1, -1):
        day = today - timedelta(days=back)
        if day.weekday() >= 5:
            continue
        start = utc_start_of(school, day)
        for pupil_id, class_id, team_id in pupils:
            for _n in range(rng.choice((0, 1, 1, 2, 3))):
                category = rng.choice(categories)
                at = start + timedelta(hours=rng.randint(9, 14), minutes=rng.randint(0, 59))
                if at > now:
                    continue
                rows.append(dict(school_id=school.id, pupil_id=pupil_id, class_id=class_id, team_id=team_id,
                                 category_id=category.id, awarded_by_id=teachers[class_id], value=category.value,
                                 needs_work=False, request_key=f"demo-{len(rows)}", awarded_at=at))
    for i in range(0, len(rows), 5000):
        db.session.execute(insert(PointAward), rows[i:i + 5000])


def _pupil(school, klass, display, rng, teams, home_language, surname=None):
    pupil = Pupil(school_id=school.id, class_id=klass.id, display_name=display,
                  avatar=rng.choice(AVATARS), team_id=rng.choice(teams).id,
                  home_language=home_language, picture_password=new_picture_password(klass.year_group))
    pupil._demo_surname = surname
    db.session.add(pupil)
    return pupil


def _sample_pupils(school, classes, teams, rng):
    """The shared sample export (names with accents and other scripts), when it is beside the project."""
    import csv
    path = os.path.join(os.path.dirname(current_app.root_path), SAMPLE_CSV)
    if not os.path.exists(path):
        return []
    pupils = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            klass = classes.get(row.get("Reg Group", ""))
            if klass is None:
                continue
            first = row.get("Preferred Forename") or row.get("Legal Forename")
            pupil = _pupil(school, klass, display_name_from(first, row.get("Legal Surname")), rng, teams,
                           row.get("Home Language") or "English", surname=row.get("Legal Surname"))
            pupil.upn = row.get("UPN") or None
            pupils.append(pupil)
    return pupils


def _families(school, pupils, rng):
    """Parents: most children one parent, some two; some parents two children in different classes."""
    db.session.flush()
    parent_hash = hash_password(PARENT_PASSWORD)
    by_class = {}
    for p in pupils:
        by_class.setdefault(p.class_id, []).append(p)
    three_k = next(c for c in by_class if c == _class_id(school, "3K"))
    # The README's parent: two children, in 3K and in Reception.
    zosia = next(p for p in by_class[three_k] if p.display_name.startswith("Zosia "))
    zosia.picture_password = "sun-cat-tree-star"
    reception = by_class[_class_id(school, "RW")]
    sibling = next(p for p in reception if p.display_name.startswith("Maja "))
    demo_parent = User(school_id=school.id, email=_email("parent"), name="Anna Kowalska", role=ROLE_PARENT,
                       locale="pl", password_hash=parent_hash)
    db.session.add(demo_parent)
    db.session.flush()
    db.session.add_all([ParentLink(parent_id=demo_parent.id, pupil_id=zosia.id),
                        ParentLink(parent_id=demo_parent.id, pupil_id=sibling.id)])
    second = User(school_id=school.id, email=_email("parent2"), name="Piotr Kowalski", role=ROLE_PARENT,
                  locale="pl", password_hash=parent_hash)
    db.session.add(second)
    db.session.flush()
    db.session.add(ParentLink(parent_id=second.id, pupil_id=zosia.id))
    linked = {zosia.id, sibling.id}
    n = 0
    for pupil in pupils:
        if pupil.id in linked or rng.random() < 0.25:  # a quarter not yet joined: letters still to send
            continue
        n += 1
        surname = getattr(pupil, "_demo_surname", None) or "Family"
        locale = LANGUAGE_BY_SURNAME.get(surname)
        parent = User(school_id=school.id, email=_email(f"family{n}"), name=f"{rng.choice(FIRST_NAMES)} {surname}",
                      role=ROLE_PARENT, locale=locale, password_hash=parent_hash)
        db.session.add(parent)
        db.session.flush()
        db.session.add(ParentLink(parent_id=parent.id, pupil_id=pupil.id))
        if rng.random() < 0.15:  # some children have two parents on Hearth
            other = User(school_id=school.id, email=_email(f"family{n}b"), name=f"{rng.choice(FIRST_NAMES)} {surname}",
                         role=ROLE_PARENT, locale=locale, password_hash=parent_hash)
            db.session.add(other)
            db.session.flush()
            db.session.add(ParentLink(parent_id=other.id, pupil_id=pupil.id))
    db.session.flush()
    for parent in db.session.scalars(select(User).where(User.school_id == school.id, User.role == ROLE_PARENT)):
        if parent.email != _email("parent"):  # the README's parent sees the privacy notice first
            docs = outstanding_documents(parent)
            if docs:
                acknowledge(parent, docs)


def _class_id(school, name):
    return db.session.scalar(select(SchoolClass.id).where(SchoolClass.school_id == school.id,
                                                          SchoolClass.name == name))


def print_sign_ins(school):
    zosia = db.session.scalar(select(Pupil).where(Pupil.school_id == school.id,
                                                  Pupil.picture_password == "sun-cat-tree-star"))
    base = current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:" + os.environ.get("PORT", "5000")
    click.echo(f"""
Hearth Demo Primary is ready at {base}

  Headteacher      {_email('head')}   password: {STAFF_PASSWORD}
  Senior leader    {_email('senior')}   password: {STAFF_PASSWORD}
  Teacher (3K)     {_email('teacher')}   password: {STAFF_PASSWORD}
  Parent of two    {_email('parent')}   password: {PARENT_PASSWORD}
                   (Zosia in 3K and Maja in Reception; reads Polish)
  Pupil            open {base}/classroom, class code HEARTH, tap "{zosia.display_name if zosia else 'Zosia K.'}",
                   then the pictures: sun, cat, tree, star
""")


@click.command("demo")
@click.option("--size", type=click.Choice(["normal", "large"]), default=None,
              help="large: a school of about 600 pupils with a year of history (app/demo_large.py).")
@click.option("--schools", type=click.IntRange(1, 200), default=None,
              help="Make a trust of this many schools (hearth-school-1 ...), each with its own people.")
def demo_command(size, schools):
    """Create Hearth Demo Primary with people and sign-ins, or with --size large / --schools N
    generated schools with a year of history (safe to run twice)."""
    if os.environ.get("HEARTH_ENV") == "production":
        raise click.ClickException("The demo school is not made in production.")
    if size == "large" or schools is not None:
        from .demo_large import demo_trust
        demo_trust(size or "normal", schools or 1)
        return
    school, created = build_demo()
    if not created:
        click.echo("The demo school exists already; nothing changed.")
    print_sign_ins(school)
