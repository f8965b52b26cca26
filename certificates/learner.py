"""The learner's pages: my certificates, downloads, the PDF, sharing and the shown name.

Every page is for the signed-in hub user and shows only credentials issued to
that user; any other credential id answers 404, exactly like one that does not
exist, so ids cannot be probed.

The name shown (a decision): the learner's choice here governs what people
*see* — the printed PDF and the public verification page — and is stored on
the credential's row (``display_name``; NULL means hidden). It never changes
the signed credential: a signature covers the bytes that were issued, and
editing them would make every copy already handed out disagree with the
issuer. The signed credential names the learner only if the learner had chosen
so when it was issued; to add or remove the name there, the credential is
re-issued (the old one revoked as superseded) by an instructor.
"""

from __future__ import annotations

import base64
import io
import json
import uuid

import qrcode
import qrcode.constants
import qrcode.image.svg
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from certificates import achievements, db, issuance, pdf
from certificates import credential as credential_mod
from certificates.models import Credential, utcnow
from web.hub import authenticated
from web.language import other_language, page_language
from web.security import checked_text

bp = Blueprint("learner", __name__, url_prefix="/my", template_folder="templates")

#: VC-JOSE-COSE media type of a VC-JWT.
JWT_MEDIA_TYPE = "application/vc+jwt"
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "My certificates",
        "none": "You have no certificates yet. They appear here when you pass an exam.",
        "achievement": "Certificate",
        "level": "Level",
        "issued": "Issued",
        "valid_until": "Valid until",
        "no_expiry": "No expiry",
        "status": "Status",
        "active": "Valid",
        "revoked": "Revoked",
        "suspended": "Suspended",
        "expired": "Expired",
        "open": "Open",
        "share": "Share",
        "share_help": "Send this link to an employer, or let them scan the QR code. "
        "It opens the public verification page; no account is needed.",
        "downloads": "Download",
        "pdf_en": "PDF certificate (English)",
        "pdf_ja": "PDF certificate (Japanese)",
        "jwt": "Signed credential (.jwt)",
        "json": "Signed credential (JSON)",
        "files_help": "The credential file is what an employer can verify offline with "
        "the issuer's public key. The PDF is a printable copy with a QR code.",
        "name_title": "Your name on this certificate",
        "name_help": "Choose whether the PDF and the verification page show your name. "
        "Without it they say the holder is identified by the credential. This choice "
        "does not change the signed credential; ask an instructor to re-issue it if "
        "you want the signed file itself to carry or drop your name.",
        "name_shown": "Your name is shown as:",
        "name_hidden": "Your name is not shown.",
        "signed_name": "The signed credential names you; you can show or hide that name.",
        "declared": "A name you type is printed as given by you: the issuer did not check it.",
        "signed_anonymous": "The signed credential does not contain your name.",
        "show_name": "Show my name",
        "name": "Name",
        "save": "Save",
        "back": "All my certificates",
        "language": "日本語",
    },
    "ja": {
        "title": "マイ認定証",
        "none": "認定証はまだありません。試験に合格するとここに表示されます。",
        "achievement": "認定証",
        "level": "レベル",
        "issued": "発行日",
        "valid_until": "有効期限",
        "no_expiry": "無期限",
        "status": "状態",
        "active": "有効",
        "revoked": "失効",
        "suspended": "一時停止",
        "expired": "有効期限切れ",
        "open": "開く",
        "share": "共有",
        "share_help": "このリンクを企業の方に送るか、QRコードを読み取ってもらってください。"
        "公開の確認ページが開きます。アカウントは不要です。",
        "downloads": "ダウンロード",
        "pdf_en": "PDF 認定証（英語）",
        "pdf_ja": "PDF 認定証（日本語）",
        "jwt": "署名付き証明書（.jwt）",
        "json": "署名付き証明書（JSON）",
        "files_help": "証明書ファイルは、企業が発行者の公開鍵を使ってオフラインで確認できる"
        "ものです。PDF は QR コード付きの印刷用の写しです。",
        "name_title": "この認定証に表示する氏名",
        "name_help": "PDF と確認ページに氏名を表示するかを選べます。表示しない場合は、"
        "保持者はデジタル証明書の識別子で確認できると表示されます。この設定は署名付き"
        "証明書を変更しません。署名付きファイル自体に氏名を入れる・外す場合は、講師に"
        "再発行を依頼してください。",
        "name_shown": "表示される氏名：",
        "name_hidden": "氏名は表示されません。",
        "signed_name": "署名付き証明書には氏名が含まれています。その氏名の表示・非表示を選べます。",
        "declared": "入力した氏名は、本人の申告として印刷されます（発行者は確認していません）。",
        "signed_anonymous": "署名付き証明書には氏名は含まれていません。",
        "show_name": "氏名を表示する",
        "name": "氏名",
        "save": "保存",
        "back": "マイ認定証の一覧",
        "language": "English",
    },
}


def catalogue() -> achievements.Catalogue:
    """Return the issuer's achievement catalogue."""
    return issuance.current_issuer().catalogue


def verification_url(row: Credential) -> str:
    """Return the public verification page of *row*, the address its QR code holds."""
    return pdf.verification_url(issuance.current_issuer().public_url, row.uuid)


def own_credential(user: dict, credential_uuid: str) -> Credential:
    """Return the signed-in user's issued credential *credential_uuid*, or abort 404."""
    try:
        parsed = uuid.UUID(credential_uuid)
    except ValueError:
        parsed = None
    row = None
    if parsed is not None and str(parsed) == credential_uuid:
        row = db.session().scalar(
            select(Credential).where(Credential.id == f"urn:uuid:{parsed}",
                                     Credential.learner == user["name"],
                                     Credential.token.is_not(None)))
    if row is None:
        abort(404, "Certificate does not exist among yours. Open “My certificates” to see "
                   "them. / この認定証はあなたの認定証の中にありません。")
    return row


def signed_credential(row: Credential) -> dict:
    """Return the credential JSON the row's VC-JWT signs."""
    return json.loads(row.document)


def standing(row: Credential) -> str:
    """Return the credential's state for the learner: active, revoked, suspended or expired."""
    if row.status == "active" and row.valid_until is not None and row.valid_until <= utcnow():
        return "expired"
    return row.status


def declared_name(row: Credential) -> bool:
    """Tell whether the shown name is the learner's own statement, not the one the issuer signed."""
    return (row.display_name is not None
            and row.display_name != credential_mod.shown_name(signed_credential(row)))


def printed(row: Credential) -> pdf.PrintedCertificate:
    """Return what the PDF of *row* shows, with the name only if the learner chose it."""
    achievement = catalogue().get(row.achievement_id)
    return pdf.PrintedCertificate(
        credential_id=row.id,
        achievement_name=achievement.name,
        achievement_description=achievement.description,
        level=achievement.level,
        level_name=achievement.level_name,
        issuer=issuance.current_issuer().name,
        issued=row.issued_at,
        valid_until=row.valid_until,
        holder_name=row.display_name,
        holder_name_declared=declared_name(row),
    )


def qr_data_uri(url: str) -> str:
    """Return an SVG QR code of *url* as a ``data:`` URI (allowed by the page's CSP)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4,
                         image_factory=qrcode.image.svg.SvgPathImage)
    code.add_data(url)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def attachment(body: bytes | str, media_type: str, filename: str) -> Response:
    """Return *body* as a download named *filename* that no cache keeps."""
    response = Response(body, mimetype=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/")
@authenticated
def index(user: dict):
    """List the signed-in learner's certificates."""
    lang = page_language()
    rows = issuance.credentials_of(db.session(), user["name"])
    found = catalogue()
    entries = [(row, found.get(row.achievement_id)) for row in rows]
    return render_template("learner/index.html", entries=entries, lang=lang,
                           text=TEXT[lang], other=other_language(lang), standing=standing)


@bp.get("/<credential_uuid>")
@authenticated
def detail(user: dict, credential_uuid: str):
    """Show one certificate: share link and QR code, downloads and the name choice."""
    lang = page_language()
    row = own_credential(user, credential_uuid)
    url = verification_url(row)
    document = signed_credential(row)
    return render_template("learner/detail.html", row=row,
                           achievement=catalogue().get(row.achievement_id),
                           url=url, qr=qr_data_uri(url), lang=lang, text=TEXT[lang],
                           other=other_language(lang),
                           signed_name=credential_mod.shown_name(document),
                           standing=standing(row))


@bp.get("/<credential_uuid>/credential.jwt")
@authenticated
def download_jwt(user: dict, credential_uuid: str):
    """Download the signed credential as issued (compact VC-JWT)."""
    row = own_credential(user, credential_uuid)
    return attachment(row.token, JWT_MEDIA_TYPE, f"qcampus-{row.uuid}.jwt")


@bp.get("/<credential_uuid>/credential.json")
@authenticated
def download_json(user: dict, credential_uuid: str):
    """Download the signed credential wrapped as a VC 2.0 ``EnvelopedVerifiableCredential``."""
    row = own_credential(user, credential_uuid)
    envelope = {
        "@context": VC_CONTEXT,
        "id": f"data:{JWT_MEDIA_TYPE},{row.token}",
        "type": "EnvelopedVerifiableCredential",
    }
    return attachment(json.dumps(envelope, indent=2) + "\n", "application/json",
                      f"qcampus-{row.uuid}.json")


@bp.get("/<credential_uuid>/certificate.pdf")
@authenticated
def download_pdf(user: dict, credential_uuid: str):
    """Download the PDF certificate in ``?lang=en`` (default) or ``ja``."""
    row = own_credential(user, credential_uuid)
    lang = request.args.get("lang", "en")
    try:
        pdf.check_language(lang)
    except pdf.UnsupportedLanguageError as error:
        abort(400, error.message)
    document = pdf.render(printed(row), lang, verification_url(row))
    return attachment(document, "application/pdf", f"qcampus-{row.uuid}-{lang}.pdf")


@bp.post("/<credential_uuid>/name")
@authenticated
def choose_name(user: dict, credential_uuid: str):
    """Show or hide the learner's name on the PDF and the verification page."""
    row = own_credential(user, credential_uuid)
    show = request.form.get("show_name") == "on"
    signed = credential_mod.shown_name(signed_credential(row))
    name = None
    if show:
        # A name the issuer signed is shown as signed; otherwise the learner types it,
        # and the PDF says the holder declared it (the issuer never checked it).
        name = signed or checked_text(request.form.get("display_name"), "Name / 氏名")
    with db.write_session(db.engine()) as session:
        stored = session.get(Credential, row.serial)
        stored.display_name = name
    current_app.logger.info("learner changed the shown name of %s (shown: %s)", row.id, show)
    return redirect(url_for("learner.detail", credential_uuid=row.uuid, lang=page_language()))
