"""The audit log: the head views, filters and exports it (issue 8 part 7, SECURITY.md 29).

/audit/ lists the school's entries newest first, 50 a page (keyset: "Older" carries a cursor and
the filters); /audit/export.csv gives the same filtered entries as CSV. Both looks are audited.
"""
from flask import Blueprint, Response, request
from flask_login import current_user

from ...htmx import render
from ...policies import headteacher, rule
from ...services import audit_log
from .forms import AuditFilterForm

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _filter_form():
    form = AuditFilterForm(formdata=request.args)
    form.fill_choices(audit_log.actions_present(current_user.school_id),
                      audit_log.target_types_present(current_user.school_id))
    valid = form.validate()
    filters = audit_log.AuditFilters(
        action=form.action.data or "", who=(form.who.data or "").strip(),
        target_type=form.target_type.data or "", date_from=form.date_from.day, date_to=form.date_to.day)
    return form, valid, filters


def _filter_args(filters):
    """The filters as query arguments, for the "Older" and export links."""
    args = {"action": filters.action, "who": filters.who, "target_type": filters.target_type,
            "date_from": filters.date_from.isoformat() if filters.date_from else "",
            "date_to": filters.date_to.isoformat() if filters.date_to else ""}
    return {key: value for key, value in args.items() if value}


@bp.route("/")
@rule(headteacher)
def index():
    form, valid, filters = _filter_form()
    page = None
    if valid:
        page = audit_log.view_page(current_user.school, filters, by=current_user._get_current_object(),
                                   before=request.args.get("before"))
    return render("audit/index.html", block="entries", form=form, page=page,
                  filter_args=_filter_args(filters), actor_key=audit_log.actor_key, detail_items=audit_log.detail_items,
                  paged=bool(request.args.get("before")))


@bp.route("/export.csv")
@rule(headteacher)
def export():
    form, valid, filters = _filter_form()
    if not valid:
        return render("audit/index.html", status=400, form=form, page=None, filter_args=_filter_args(filters),
                      actor_key=audit_log.actor_key, detail_items=audit_log.detail_items, paged=False)
    body = audit_log.export_csv(current_user.school, filters, by=current_user._get_current_object())
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response
