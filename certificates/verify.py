"""Public pages for employers: verify a credential by link, QR code or upload.

Nothing here needs an account and nothing here changes what is stored. The
issuer's keys (JWKS and ``did:web``) and the signed status lists are published
here too, so any verifier can check a credential without asking anyone.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for

from certificates import credential, db, envelope, issuance, pdf, status, verdict_cache, verification
from certificates.errors import MalformedCredential, UnknownKey
from certificates.models import PURPOSES, REASON_CATEGORIES, utcnow
from web.security import rate_limited

bp = Blueprint("verify", __name__, template_folder="templates")

#: The outcome headline of each verdict, in English and Japanese.
HEADLINES = {
    "valid": ("Valid", "有効"),
    "revoked": ("Revoked", "失効"),
    "suspended": ("Suspended", "一時停止中"),
    "expired": ("Expired", "有効期限切れ"),
    "not_yet_valid": ("Not yet valid", "まだ有効ではありません"),
    "tampered": ("Altered or forged", "改ざんまたは偽造"),
    "unknown_key": ("Unknown issuer or key", "不明な発行者または鍵"),
    "malformed": ("Not a credential", "証明書として読み取れません"),
    "status_unknown": ("Status could not be checked", "失効状態を確認できません"),
    "key_compromised": ("Not confirmed: signing key compromised", "未確認：署名鍵が漏えい"),
    "not_issued": ("Not issued by this issuer", "この発行者による発行記録なし"),
}


def run_verification(text: str | bytes, *, now: datetime | None = None) -> verification.Verdict:
    """Verify *text* against this issuer's keys, its records and its live status lists.

    Only a token this issuer recorded issuing can be valid here, and a
    compromised key is judged by the recorded issuing time, never by the
    token's own claims (see :func:`certificates.verification.examine_token`).

    What does not depend on the time is remembered per process
    (:mod:`certificates.verdict_cache`) under the token, the keys and the lists'
    versions, which are read on every call.

    Args:
        text: The credential file's content.
        now: The time of verification (default: the current time).
    """
    issuer = issuance.current_issuer()
    keys, kid = issuer.published_keys()
    now = now or utcnow()
    try:
        token = envelope.extract_token(text)
    except (MalformedCredential, UnknownKey):
        # Unreadable input names no credential: nothing to look up or remember.
        return verification.verify(text, keys=keys, issuer_id=issuer.public_url, status=None,
                                   now=now)
    versions = status.list_versions(issuer.engine)
    source = status.DatabaseStatusSource(issuer, db.session, kid=kid, versions=versions)
    examination = verdict_cache.current_cache().examine(
        token, keys=keys, issuer_id=issuer.public_url, status=source,
        versions=tuple(sorted(versions.items())),
        records=lambda signed: issuance.recorded_issue_time(db.session(), signed))
    return verification.judge(examination, now)


def render_verdict(verdict: verification.Verdict, *, row=None):
    """Render the verdict page (both languages)."""
    issuer = issuance.current_issuer()
    achievement = None
    achievement_id = verdict.details.get("achievement") or (row.achievement_id if row else None)
    if achievement_id:
        achievement = issuer.catalogue.achievements.get(str(achievement_id).rsplit("/", 1)[-1])
    category = verdict.details.get("reason_category")
    return render_template(
        "verify/verdict.html", verdict=verdict, headline=HEADLINES[verdict.outcome.value],
        achievement=achievement, row=row,
        reason=REASON_CATEGORIES.get(category) if category else None,
        name_declared=_name_declared(verdict, row),
        declared_note=(pdf.LABELS["en"]["declared"], pdf.LABELS["ja"]["declared"]),
    )


def _name_declared(verdict: verification.Verdict, row) -> bool:
    """Tell whether the holder's shown name is their own statement, not a name the issuer signed.

    Only the credential whose signature this verification checked vouches for a
    name; without one, a shown name is the holder's word.
    """
    if row is None or row.display_name is None:
        return False
    signed = credential.shown_name(verdict.credential) if verdict.credential else None
    return row.display_name != signed


def _credential_uuid(credential_id: str) -> str:
    """Return the canonical UUID in *credential_id*, or answer 404."""
    bare = credential_id.removeprefix("urn:uuid:")
    try:
        return str(uuid.UUID(bare))
    except ValueError:
        abort(404, f"Certificate {credential_id[:80]} does not exist. Check the link or the QR "
                   f"code. / この証明書は存在しません。")


@bp.get("/")
def index():
    """Show the verification start page: enter an id or upload a credential file."""
    return render_template("verify/index.html")


@bp.get("/verify/<path:credential_id>")
@rate_limited("verify")
def show(credential_id: str):
    """Verify the credential a link or QR code names."""
    bare = _credential_uuid(credential_id)
    row = issuance.find(db.session(), bare)
    if row is None or row.token is None:
        abort(404, f"Certificate {bare} does not exist. Check the link or the QR code; if it "
                   f"is right, the certificate was not issued by this site. / "
                   f"この証明書は存在しません。")
    return render_verdict(run_verification(row.token), row=row)


@bp.get("/verify")
def lookup():
    """Open the verification page of the id typed into the start page."""
    credential_id = (request.args.get("id") or "").strip()
    if not credential_id:
        return render_template("verify/index.html")
    return redirect(url_for("verify.show", credential_id=_credential_uuid(credential_id)))


@bp.post("/verify")
@rate_limited("verify")
def upload():
    """Verify an uploaded credential file (VC-JWT or JSON) or pasted text."""
    sent = request.files.get("credential")
    if sent is not None and sent.filename:
        text: str | bytes = sent.read(envelope.MAX_INPUT + 1)
    else:
        text = request.form.get("text", "")
    if not text:
        abort(400, "Choose a credential file or paste its content, then press Verify. / "
                   "証明書ファイルを選ぶか内容を貼り付けてください。")
    verdict = run_verification(text)
    row = None
    if verdict.credential is not None:
        row = issuance.find(db.session(), str(verdict.credential.get("id", "")))
    return render_verdict(verdict, row=row)


@bp.get("/status/<purpose>")
def status_list(purpose: str):
    """Serve the signed ``BitstringStatusListCredential`` of *purpose* as a VC-JWT."""
    if purpose not in PURPOSES:
        abort(404, f"There is no status list {purpose[:40]!r}; the lists are "
                   f"{', '.join(PURPOSES)}.")
    token = status.signed_status_list(issuance.current_issuer(), db.session(), purpose)
    response = Response(token, mimetype="application/vc+jwt")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _public_json(document: object):
    response = jsonify(document)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/.well-known/jwks.json")
def jwks():
    """Publish the issuer's public keys, retired and compromised ones included."""
    issuer = issuance.current_issuer()
    # The issuer id inside the key set lets an offline verifier check whom it trusts.
    return _public_json(issuer.keystore.jwks(issuer=issuer.profile.id))


@bp.get("/.well-known/did.json")
@bp.get("/did.json")
def did_document():
    """Publish the issuer's ``did:web`` document."""
    parts = urlsplit(issuance.current_issuer().public_url)
    document = issuance.current_issuer().keystore.did_web_document(parts.netloc,
                                                                   parts.path.strip("/") or None)
    return _public_json(document)


@bp.get("/achievements/<achievement_id>")
def achievement(achievement_id: str):
    """Publish the Open Badges ``Achievement`` a credential names."""
    issuer = issuance.current_issuer()
    found = issuer.catalogue.achievements.get(achievement_id)
    if found is None:
        abort(404, f"Achievement {achievement_id[:80]!r} does not exist.")
    return _public_json(found.to_json(issuer.public_url))
