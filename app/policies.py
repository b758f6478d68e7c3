"""Who may do what. Deny by default: every view declares its rule (SECURITY.md 11-14).

Two layers:
- a *view rule* (``@rule(...)``) says which kinds of account may reach an endpoint at all;
  a test walks ``app.url_map`` and fails on any endpoint without one;
- *object questions* (``can_view_pupil`` ...) are asked by routes when they look objects up.
  Objects a user may not see are reported as missing (404), never as forbidden, so that ids of
  other families or schools reveal nothing.
"""
from functools import wraps

from flask import abort, request
from flask_login import current_user

from .extensions import db, login_manager

# ---- view rules -------------------------------------------------------------------------------

def anyone(account):
    return True


def signed_in(account):
    return account.is_authenticated


def staff(account):
    return account.is_authenticated and account.is_staff


def parent(account):
    return account.is_authenticated and account.is_parent


def pupil(account):
    return account.is_authenticated and account.is_pupil


def school_manager(account):
    return account.is_authenticated and can_manage_school(account)


def headteacher(account):
    return account.is_authenticated and account.is_head


def rule(check):
    """Declare who may use a view. Anonymous visitors are sent to sign in; others get 404."""
    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not check(current_user):
                if not current_user.is_authenticated:
                    from .auth_session import full_page_redirect
                    return full_page_redirect(login_manager.unauthorized())
                record_refusal(request.endpoint)
                abort(404)
            return view(*args, **kwargs)
        guarded.policy = check
        return guarded
    return decorate


def record_refusal(what, target_type=None, target_id=None):
    from .services.audit import audit
    audit("access.refused", target_type=target_type, target_id=target_id, detail={"what": what},
          commit=True)


# ---- object questions ------------------------------------------------------------------------

def same_school(account, obj):
    return account.is_authenticated and getattr(obj, "school_id", None) == account.school_id


def can_manage_school(account):
    """The headteacher, and staff the head has allowed to run the school."""
    return bool(account.is_authenticated and account.is_staff
                and (account.is_head or account.can_manage_school) and account.is_active)


def teaches(account, school_class):
    return bool(account.is_authenticated and account.is_staff and school_class is not None
                and same_school(account, school_class)
                and any(c.id == school_class.id for c in account.classes))


def can_view_class(account, school_class):
    if not same_school(account, school_class):
        return False
    if account.is_staff:
        return account.is_senior or can_manage_school(account) or teaches(account, school_class)
    if account.is_parent:
        return any(p.class_id == school_class.id for p in account.children)
    if account.is_pupil:
        return account.class_id == school_class.id
    return False


def can_manage_class(account, school_class):
    """Edit a class, print its passcode letters and pupils' sign-in sheets."""
    return same_school(account, school_class) and (
        can_manage_school(account) or teaches(account, school_class))


def can_view_pupil(account, pupil_obj):
    if not same_school(account, pupil_obj):
        return False
    if account.is_pupil:
        return account.id == pupil_obj.id
    if account.is_parent:
        return any(link.pupil_id == pupil_obj.id for link in account.children_links)
    if account.is_staff:
        return (account.is_senior or can_manage_school(account)
                or teaches(account, pupil_obj.school_class))
    return False


def can_manage_pupil(account, pupil_obj):
    """Move between classes, mark as left, revoke passcodes: the school's managers."""
    return same_school(account, pupil_obj) and can_manage_school(account)


def can_award_points(account, pupil_obj):
    """Teachers award points to pupils in their classes; senior leaders and the head to any pupil."""
    return bool(same_school(account, pupil_obj) and account.is_staff
                and (account.is_senior or teaches(account, pupil_obj.school_class)))


def can_invite_role(account, role):
    from .models.people import ROLE_HEAD, ROLE_SENIOR, ROLE_TEACHER
    if not can_manage_school(account):
        return False
    if role == ROLE_TEACHER:
        return True
    if role in (ROLE_SENIOR, ROLE_HEAD):
        return account.is_head
    return False


# ---- look-ups that apply a question ----------------------------------------------------------

def get_or_404(model, ident, question):
    obj = db.session.get(model, ident)
    if obj is None or not question(current_user, obj):
        if obj is not None:
            record_refusal(request.endpoint, model.__name__.lower(), ident)
        abort(404)
    return obj


# ---- the Class Story and the pupils' own stories ---------------------------------------------

def can_post_to_class(account, school_class):
    """Teachers post to the classes they teach; senior leaders to any class, or (None) the whole
    school."""
    if not (account.is_authenticated and account.is_staff and account.is_active):
        return False
    if school_class is None:
        return account.is_senior
    return (same_school(account, school_class) and school_class.archived_at is None
            and (account.is_senior or teaches(account, school_class)))


def can_edit_post(account, post):
    """The author, the class's other teachers, and senior leaders."""
    if not (account.is_authenticated and account.is_staff and same_school(account, post)):
        return False
    return account.id == post.author_id or can_post_to_class(account, post.school_class)


def can_view_post(account, post):
    """A live post is seen by the class's families, pupils and staff (every class's for a
    whole-school post); a draft or a scheduled post by those who may edit it."""
    from .models.base import utcnow
    if not same_school(account, post):
        return False
    if post.removed_at is not None and not account.is_staff:  # removed after a report (issue 8)
        return False
    if not post.is_live(utcnow()):
        return can_edit_post(account, post)
    if post.class_id is None:
        return True
    return can_view_class(account, post.school_class)


def can_respond(account, target_visible):
    """Likes and comments: parents and staff who can see the post or item; pupils read only."""
    return bool(target_visible and account.is_authenticated and not account.is_pupil and account.is_active)


def can_view_portfolio_item(account, item):
    """A pupil's own story: the pupil, the pupil's family and the staff who can see the pupil; a
    pending or sent-back item only the pupil and staff; classmates once sharing was approved."""
    if not same_school(account, item):
        return False
    if item.removed_at is not None and not account.is_staff:  # removed after a report (issue 8)
        return False
    owner = item.pupil
    if account.is_pupil and account.id != item.pupil_id:
        return item.shared and account.class_id == owner.class_id
    if not can_view_pupil(account, owner):
        return False
    if account.is_parent:
        return item.approved
    return True
