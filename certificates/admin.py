"""Staff pages: issue by hand, revoke, suspend or reinstate, search credentials and the audit log.

Only members of the hub groups ``instructors`` and ``examiners`` get in. Every
change is a POST with a CSRF token and a reason, and lands in the hash-chained
audit log. Searches use bound parameters only; sort keys come from an allowlist.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import or_, select

from certificates import audit, db, issuance
from certificates.errors import (
    AuditChainBroken,
    CertificateError,
    CredentialNotFound,
    IssuanceError,
)
from certificates.models import REASON_CATEGORIES, AuditRecord, Credential
from certificates.status import change_status as change_credential_status
from web.hub import staff_required
from web.security import checked_text, log_field

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")

PAGE_SIZE = 50

#: Sort keys a search may ask for, mapped to columns; anything else is refused.
CREDENTIAL_SORTS = {
    "issued": Credential.issued_at.desc(),
    "issued_asc": Credential.issued_at.asc(),
    "learner": Credential.learner.asc(),
    "achievement": Credential.achievement_id.asc(),
    "status": Credential.status.asc(),
}
AUDIT_SORTS = {
    "newest": AuditRecord.seq.desc(),
    "oldest": AuditRecord.seq.asc(),
    "actor": AuditRecord.actor.asc(),
    "action": AuditRecord.action.asc(),
}
STATUSES = ("active", "revoked", "suspended")
STATUS_ACTIONS = {"revoke": "revoked", "suspend": "suspended", "reinstate": "reinstated"}


def _sort(table: dict, default: str):
    key = request.args.get("sort", default)
    if key not in table:
        abort(400, f"Unknown sort {key[:40]!r}; use one of {', '.join(table)}.")
    return key, table[key]


def _matches(text: str, *columns):
    """Return a condition: any of *columns* contains *text* literally (a bound parameter)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(*(column.ilike(f"%{escaped}%", escape="\\") for column in columns))


@bp.get("/")
@staff_required
def index(user: dict):
    """List and search credentials; offer the manual issue form."""
    query = checked_text(request.args.get("q"), "Search", required=False)
    status = request.args.get("status", "")
    if status and status not in STATUSES:
        abort(400, f"Unknown status {status[:40]!r}; use one of {', '.join(STATUSES)}.")
    sort_key, order = _sort(CREDENTIAL_SORTS, "issued")
    statement = select(Credential).where(Credential.token.is_not(None))
    if query:
        statement = statement.where(_matches(query, Credential.learner, Credential.id,
                                             Credential.achievement_id, Credential.source))
    if status:
        statement = statement.where(Credential.status == status)
    rows = db.session().scalars(statement.order_by(order).limit(PAGE_SIZE)).all()
    catalogue = issuance.current_issuer().catalogue
    return render_template("admin/index.html", user=user, rows=rows, query=query, status=status,
                           sort=sort_key, sorts=CREDENTIAL_SORTS, statuses=STATUSES,
                           achievements=sorted(catalogue.achievements.values(),
                                               key=lambda a: a.id),
                           reasons=REASON_CATEGORIES, request_id=uuid.uuid4().hex)


@bp.post("/issue")
@staff_required
def issue(user: dict):
    """Issue a credential by hand, with the reason recorded."""
    form = request.form
    request_id = form.get("request_id", "")
    try:
        request_id = uuid.UUID(request_id).hex
    except ValueError:
        abort(400, "The form is incomplete; reload the page and try again. / "
                   "フォームが不完全です。再読み込みしてください。")
    display_name = checked_text(form.get("display_name"), "Display name", required=False)
    wanted = issuance.IssueRequest(
        learner=checked_text(form.get("learner"), "Learner"),
        achievement_id=checked_text(form.get("achievement"), "Achievement"),
        # The form's id makes a double submission return the first credential.
        source=f"manual:{request_id}",
        actor=user["name"],
        reason=checked_text(form.get("reason"), "Reason"),
        display_name=display_name or None,
        show_name=bool(display_name) and form.get("show_name") == "on",
    )
    try:
        issued = issuance.issue(issuance.current_issuer(), wanted)
    except CertificateError as exc:
        abort(422, exc.format_message())
    current_app.logger.info("%s issued %s by hand for %s", log_field(user["name"]),
                            issued.credential_id, log_field(wanted.learner))
    flash(f"Issued {issued.credential_id}. / 発行しました。")
    return redirect(url_for("admin.credential", credential_id=issued.credential_id))


@bp.get("/credentials/<credential_id>")
@staff_required
def credential(user: dict, credential_id: str):
    """Show one credential with its status history."""
    row = issuance.find(db.session(), credential_id)
    if row is None or row.token is None:
        abort(404, f"Certificate {credential_id[:80]} does not exist.")
    return render_template("admin/credential.html", user=user, row=row,
                           reasons=REASON_CATEGORIES, actions=STATUS_ACTIONS)


@bp.post("/credentials/<credential_id>/status")
@staff_required
def change_status(user: dict, credential_id: str):
    """Revoke, suspend or reinstate a credential, with a reason."""
    action = request.form.get("action", "")
    if action not in STATUS_ACTIONS:
        abort(400, f"Unknown action; use one of {', '.join(STATUS_ACTIONS)}.")
    category = request.form.get("reason_category", "")
    if category not in REASON_CATEGORIES:
        abort(400, "Choose a reason category. / 理由の区分を選んでください。")
    reason = checked_text(request.form.get("reason"), "Reason")
    try:
        change_credential_status(issuance.current_issuer(), credential_id,
                                 STATUS_ACTIONS[action],
                               reason_category=category, reason=reason, actor=user["name"])
    except CredentialNotFound:
        abort(404, f"Certificate {credential_id[:80]} does not exist.")
    except IssuanceError as exc:
        abort(409, exc.format_message())
    current_app.logger.info("%s: %s %s (%s)", log_field(user["name"]), action,
                            log_field(credential_id), category)
    flash(f"Done: {action}. / 完了しました。")
    return redirect(url_for("admin.credential", credential_id=credential_id))


@bp.get("/audit")
@staff_required
def audit_log(user: dict):
    """Show and search the audit log, and whether its hash chain verifies."""
    query = checked_text(request.args.get("q"), "Search", required=False)
    action = request.args.get("action", "")
    if action and action not in audit.ACTIONS:
        abort(400, f"Unknown action {action[:40]!r}; use one of {', '.join(sorted(audit.ACTIONS))}.")
    sort_key, order = _sort(AUDIT_SORTS, "newest")
    statement = select(AuditRecord)
    if query:
        statement = statement.where(_matches(query, AuditRecord.actor, AuditRecord.reason,
                                             AuditRecord.credential_id, AuditRecord.details))
    if action:
        statement = statement.where(AuditRecord.action == action)
    session = db.session()
    records = session.scalars(statement.order_by(order).limit(PAGE_SIZE)).all()
    try:
        chain = audit.verify_chain(session)
        broken = None
    except AuditChainBroken as exc:
        # Shown on the page in red: a broken chain is the finding, not a server error.
        chain, broken = None, exc.format_message()
    return render_template("admin/audit.html", user=user, records=records, query=query,
                           action=action, actions=sorted(audit.ACTIONS), sort=sort_key,
                           sorts=AUDIT_SORTS, chain=chain, broken=broken)
