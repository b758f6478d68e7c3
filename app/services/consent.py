"""The privacy notice and acceptable-use rules: versioned texts that parents acknowledge."""
from sqlalchemy import func, select

from ..extensions import db
from ..models import Acknowledgement, PolicyDocument, User
from .audit import audit

DOCUMENT_KINDS = ("privacy", "acceptable_use")

DEFAULT_TEXTS = {
    "privacy": (
        "How {school} uses your family's information on Hearth",
        "{school} runs Hearth on its own server so that your child's information stays with the school.\n\n"
        "What we keep: your name, email address and language; your child's first name and initial, "
        "class, team and picture (a drawing, never a photo); team points, class news, your child's "
        "work and messages between you and staff.\n\n"
        "Why: to share your child's learning with you and to let you talk to school staff. This is part "
        "of the school's public task of educating your child. Photos of your child on the class page "
        "are shared only if you say yes, and you can change your mind at any time.\n\n"
        "Who can see it: your child's teachers; senior leaders, who monitor Hearth to check that it is "
        "used safely: they may look at any class's pages, points and Student Story, and may open a "
        "private message only after recording why (each look is recorded in the school's audit log); "
        "and you. Other families never see your child's points or private messages.\n\n"
        "How long: the school deletes information when it is no longer needed, after your child leaves.\n\n"
        "Your rights: you can download everything Hearth holds about your child, ask for mistakes to be "
        "corrected, and complain to the school or to the Information Commissioner's Office.",
    ),
    "acceptable_use": (
        "Using Hearth at {school}: the rules",
        "Be kind: no negative or unkind comments about other children or families, and no "
        "inappropriate language.\n\n"
        "Do not copy photos from Hearth or share them on social media or anywhere else. Doing so will "
        "lead to your account being suspended.\n\n"
        "Hearth is not for absence, urgent matters, complaints or parent-teacher meetings: contact the "
        "school office for these.\n\n"
        "Teachers read messages during school hours (8:00 to 17:30) in term time and aim to reply "
        "within two working days.\n\n"
        "Abusive or intolerant behaviour will be reported to the headteacher and the account closed.",
    ),
}


def ensure_default_documents(school):
    """Give a school version 1 of each document if it has none yet.

    DEFAULT_TEXTS are only a starting text: each school's versions are stored rows, so changing a
    default here changes no school's published notice and asks no parent again. A school takes up a
    new default by publishing it as a new version (publish_new_version)."""
    for kind in DOCUMENT_KINDS:
        exists = db.session.scalar(select(PolicyDocument.id).where(
            PolicyDocument.school_id == school.id, PolicyDocument.kind == kind).limit(1))
        if exists is None:
            title, body = DEFAULT_TEXTS[kind]
            db.session.add(PolicyDocument(school_id=school.id, kind=kind, version=1,
                                          title=title.format(school=school.name),
                                          body=body.format(school=school.name)))


def current_documents(school_id):
    """The newest version of each document of the school."""
    latest = (select(PolicyDocument.kind, func.max(PolicyDocument.version).label("v"))
              .where(PolicyDocument.school_id == school_id).group_by(PolicyDocument.kind).subquery())
    rows = db.session.scalars(
        select(PolicyDocument).join(latest, (PolicyDocument.kind == latest.c.kind)
                                    & (PolicyDocument.version == latest.c.v))
        .where(PolicyDocument.school_id == school_id).order_by(PolicyDocument.kind.desc()))
    return list(rows)


def outstanding_documents(user):
    """Current documents the user has not acknowledged yet (one query)."""
    latest = (select(PolicyDocument.kind, func.max(PolicyDocument.version).label("v"))
              .where(PolicyDocument.school_id == user.school_id).group_by(PolicyDocument.kind).subquery())
    acknowledged = select(Acknowledgement.document_id).where(Acknowledgement.user_id == user.id)
    stmt = (select(PolicyDocument)
            .join(latest, (PolicyDocument.kind == latest.c.kind) & (PolicyDocument.version == latest.c.v))
            .where(PolicyDocument.school_id == user.school_id, PolicyDocument.id.not_in(acknowledged))
            .order_by(PolicyDocument.kind.desc()))
    return list(db.session.scalars(stmt))


def acknowledge(user, documents):
    for document in documents:
        db.session.add(Acknowledgement(user_id=user.id, document_id=document.id))
        audit("consent.acknowledged", "policy_document", document.id, actor=user,
              school_id=user.school_id, detail={"kind": document.kind, "version": document.version})
    db.session.commit()


def publish_new_version(school, kind, title, body, by=None):
    """A new version: every parent is asked to acknowledge it at their next request."""
    current = db.session.scalar(select(func.max(PolicyDocument.version)).where(
        PolicyDocument.school_id == school.id, PolicyDocument.kind == kind)) or 0
    document = PolicyDocument(school_id=school.id, kind=kind, version=current + 1, title=title, body=body)
    db.session.add(document)
    db.session.flush()
    audit("consent.document_published", "policy_document", document.id, actor=by, school_id=school.id,
          detail={"kind": kind, "version": document.version})
    db.session.commit()
    return document


def default_text(school, kind):
    """Hearth's suggested (title, body) for ``kind``, with the school's name in it."""
    title, body = DEFAULT_TEXTS[kind]
    return title.format(school=school.name), body.format(school=school.name)


def acknowledgement_counts(school_id, documents):
    """How many of the school's active parents have acknowledged each document, and how many there are."""
    parents = db.session.scalar(select(func.count(User.id)).where(
        User.school_id == school_id, User.role == "parent", User.status == "active"))
    counts = dict(db.session.execute(
        select(Acknowledgement.document_id, func.count(Acknowledgement.id))
        .join(User, User.id == Acknowledgement.user_id)
        .where(Acknowledgement.document_id.in_([d.id for d in documents]), User.status == "active",
               User.role == "parent", User.school_id == school_id)
        .group_by(Acknowledgement.document_id)).all())
    return {d.id: counts.get(d.id, 0) for d in documents}, parents
