"""Render a printable certificate (A4 landscape PDF) in English or Japanese.

The PDF is a convenience for people: it carries no signature of its own. Its QR
code opens the public verification page of the credential it was printed from,
``<public_url>/verify/<credential_id>``, so whoever holds the paper can check
the signed credential and its current status.

Japanese text uses reportlab's built-in CID fonts (``HeiseiKakuGo-W5`` and
``HeiseiMin-W3``), which need no font file here but are not embedded: the
viewer substitutes a Japanese font of its own system. Where an IPAex font is
installed (Debian ``fonts-ipaexfont-gothic``) it is embedded instead (subset),
so the page looks the same on every viewer.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape

import qrcode
import qrcode.constants
from reportlab.lib.colors import HexColor, black, white
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph

from certificates.errors import CertificateError

LANGUAGES = ("en", "ja")
PAGE = landscape(A4)
MARGIN = 36.0
ACCENT = HexColor("#1f3a93")
MUTED = HexColor("#555555")

# Installed TrueType Japanese fonts, embedded when present (first found wins).
EMBEDDABLE_JAPANESE_FONTS = (
    Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"),
    Path("/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf"),
    Path("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf"),
)

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Certificate of Achievement",
        "certifies": "This certifies that",
        "anonymous": "Holder identified by the credential",
        "declared": "(name as given by the holder)",
        "achieved": "has earned",
        "level": "Level",
        "issued": "Issued",
        "valid_until": "Valid until",
        "no_expiry": "No expiry",
        "credential_id": "Credential ID",
        "issuer": "Issuer",
        "scan": "Scan to verify this certificate online",
        "note": "This paper is a copy. The signed digital credential and its current "
        "status are at the address below.",
    },
    "ja": {
        "title": "認定証",
        "certifies": "下記の者は",
        "anonymous": "保持者はデジタル証明書の識別子で確認できます",
        "declared": "（氏名は本人の申告によります）",
        "achieved": "を取得したことを証明します",
        "level": "レベル",
        "issued": "発行日",
        "valid_until": "有効期限",
        "no_expiry": "無期限",
        "credential_id": "証明書ID",
        "issuer": "発行者",
        "scan": "QRコードを読み取ると、この認定証の真正性を確認できます",
        "note": "この用紙は写しです。署名付きデジタル証明書と現在の状態は"
        "下記のアドレスで確認できます。",
    },
}


class UnsupportedLanguageError(CertificateError):
    """A certificate was asked for in a language it is not written in."""


@dataclass(frozen=True)
class PrintedCertificate:
    """What the printed page shows of one credential.

    Attributes:
        credential_id: the credential's identifier, as in its verification URL.
        achievement_name: the achievement's name by language (``en``, ``ja``).
        achievement_description: the achievement's description by language.
        level: the CFQT level id (``A1`` … ``C2``), optionally with its name by
            language in ``level_name``.
        issuer: the issuer's name.
        issued: when the credential became valid (``validFrom``).
        valid_until: when it stops being valid, or ``None`` for no expiry.
        holder_name: the learner's name, only if the learner chose to show it.
        holder_name_declared: the name is the learner's own statement, not one the
            issuer signed; the page says so under the name.
        level_name: the level's name by language, e.g. ``{"en": "Utilisation"}``.
    """

    credential_id: str
    achievement_name: Mapping[str, str]
    achievement_description: Mapping[str, str]
    level: str
    issuer: str
    issued: date | datetime
    valid_until: date | datetime | None = None
    holder_name: str | None = None
    level_name: Mapping[str, str] | None = None
    holder_name_declared: bool = False


def verification_url(public_url: str, credential_id: str) -> str:
    """Return the public verification page of *credential_id* under *public_url*."""
    return f"{public_url.rstrip('/')}/verify/{quote(credential_id, safe='')}"


def check_language(lang: str) -> str:
    """Return *lang* if a certificate can be written in it.

    Raises:
        UnsupportedLanguageError: *lang* is not one of :data:`LANGUAGES`.
    """
    if lang not in LANGUAGES:
        raise UnsupportedLanguageError(
            f"Certificates are available in {', '.join(LANGUAGES)}, not {lang!r}; "
            f"choose one of them. / 認定証の言語は {', '.join(LANGUAGES)} から選んでください"
            f"（{lang!r} は使えません）。"
        )
    return lang


def render(certificate: PrintedCertificate, lang: str, url: str) -> bytes:
    """Render *certificate* in *lang* with a QR code to *url*; return the PDF bytes.

    Args:
        certificate: what to print.
        lang: ``"en"`` or ``"ja"``.
        url: the verification page the QR code opens (see :func:`verification_url`).

    Raises:
        UnsupportedLanguageError: *lang* is not supported.
    """
    check_language(lang)
    fonts = _fonts()
    labels = LABELS[lang]
    buffer = io.BytesIO()
    # invariant: the same certificate renders to the same bytes (no timestamps, fixed id).
    pdf = canvas.Canvas(buffer, pagesize=PAGE, invariant=True, pageCompression=1, lang=lang)
    pdf.setTitle(f"{labels['title']} — {_pick(certificate.achievement_name, lang)}")
    pdf.setAuthor(certificate.issuer)
    pdf.setSubject(url)
    width, height = PAGE

    # Frame.
    pdf.setStrokeColor(ACCENT)
    pdf.setLineWidth(3)
    pdf.rect(MARGIN / 2, MARGIN / 2, width - MARGIN, height - MARGIN)
    pdf.setLineWidth(0.8)
    pdf.rect(MARGIN / 2 + 6, MARGIN / 2 + 6, width - MARGIN - 12, height - MARGIN - 12)

    y = height - 2 * MARGIN - 8
    _centered(pdf, certificate.issuer, fonts, lang, 14, y, color=MUTED)
    y -= 40
    _centered(pdf, labels["title"], fonts, lang, 32, y, bold=True, color=ACCENT)
    y -= 38
    _centered(pdf, labels["certifies"], fonts, lang, 13, y, color=MUTED)
    y -= 34
    if certificate.holder_name:
        _centered(pdf, certificate.holder_name, fonts, lang, 24, y, bold=True)
        if certificate.holder_name_declared:
            y -= 15
            _centered(pdf, labels["declared"], fonts, lang, 9, y, color=MUTED)
    else:
        _centered(pdf, labels["anonymous"], fonts, lang, 15, y, color=MUTED)
    y -= 26
    _centered(pdf, labels["achieved"], fonts, lang, 13, y, color=MUTED)
    y -= 36
    _centered(pdf, _pick(certificate.achievement_name, lang), fonts, lang, 22, y, bold=True,
              color=ACCENT)
    y -= 14
    y = _paragraph(pdf, _pick(certificate.achievement_description, lang), fonts, lang, y,
                   width=width - 6 * MARGIN)

    # Details on the left, QR code on the right, at the foot of the page.
    qr_size = 120.0
    qr_x = width - 1.5 * MARGIN - qr_size
    qr_y = 1.5 * MARGIN + 18
    _qr(pdf, url, qr_x, qr_y, qr_size)
    _text(pdf, labels["scan"], fonts, lang, 7.5, qr_x + qr_size / 2, qr_y - 10, center=True,
          max_width=qr_size + 40, color=MUTED)

    level = certificate.level
    if certificate.level_name:
        level = f"{level} {_pick(certificate.level_name, lang)}"
    rows = [
        (labels["level"], level),
        (labels["issued"], _day(certificate.issued)),
        (labels["valid_until"],
         _day(certificate.valid_until) if certificate.valid_until else labels["no_expiry"]),
        (labels["issuer"], certificate.issuer),
        (labels["credential_id"], certificate.credential_id),
    ]
    row_y = min(y - 20, qr_y + qr_size - 8)
    x_label, x_value = 2 * MARGIN, 2 * MARGIN + 95
    for label, value in rows:
        _text(pdf, label, fonts, lang, 10, x_label, row_y, bold=True, color=MUTED)
        _text(pdf, value, fonts, lang, 10, x_value, row_y, max_width=qr_x - x_value - 20)
        row_y -= 17
    row_y -= 6
    _text(pdf, labels["note"], fonts, lang, 8, x_label, row_y, max_width=qr_x - x_label - 20,
          color=MUTED)
    row_y -= 13
    _text(pdf, url, fonts, "en", 8, x_label, row_y, max_width=qr_x - x_label - 20, color=ACCENT)
    pdf.linkURL(url, (x_label, row_y - 2, qr_x - 20, row_y + 9), relative=0)
    pdf.linkURL(url, (qr_x, qr_y, qr_x + qr_size, qr_y + qr_size), relative=0)

    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _pick(texts: Mapping[str, str], lang: str) -> str:
    """Return *texts* in *lang*, else in English, else any language given."""
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()), "")


def _day(moment: date | datetime) -> str:
    """Return the calendar day of *moment* as ISO 8601, readable in both languages."""
    if isinstance(moment, datetime):
        moment = moment.date()
    return moment.isoformat()


@dataclass(frozen=True)
class _Fonts:
    latin: str
    latin_bold: str
    japanese: str
    japanese_bold: str


_FONTS: _Fonts | None = None


def _fonts() -> _Fonts:
    """Register the fonts once; prefer an embeddable Japanese TrueType font."""
    global _FONTS
    if _FONTS is None:
        japanese = japanese_bold = ""
        for path in EMBEDDABLE_JAPANESE_FONTS:
            if path.is_file():
                pdfmetrics.registerFont(TTFont("QcampusJapanese", str(path)))
                japanese = japanese_bold = "QcampusJapanese"
                break
        if not japanese:
            pdfmetrics.registerFont(UnicodeCIDFont("HeiseiMin-W3"))
            pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
            japanese, japanese_bold = "HeiseiMin-W3", "HeiseiKakuGo-W5"
        _FONTS = _Fonts("Helvetica", "Helvetica-Bold", japanese, japanese_bold)
    return _FONTS


def _font_for(text: str, fonts: _Fonts, lang: str, bold: bool) -> str:
    """Pick a font that has glyphs for *text* (a Japanese name on an English page too)."""
    latin1 = all(ord(ch) < 256 for ch in text)
    if lang == "en" and latin1:
        return fonts.latin_bold if bold else fonts.latin
    return fonts.japanese_bold if bold else fonts.japanese


def _fit(text: str, font: str, size: float, max_width: float) -> tuple[str, float]:
    """Shrink *size* (to 60 %) and then shorten *text* with an ellipsis until it fits."""
    minimum = size * 0.6
    while size > minimum and pdfmetrics.stringWidth(text, font, size) > max_width:
        size -= 0.5
    if pdfmetrics.stringWidth(text, font, size) <= max_width:
        return text, size
    low, high = 0, len(text)
    while low < high:  # longest prefix that fits with the ellipsis
        mid = (low + high + 1) // 2
        if pdfmetrics.stringWidth(text[:mid] + "…", font, size) <= max_width:
            low = mid
        else:
            high = mid - 1
    return text[:low] + "…", size


def _text(pdf: canvas.Canvas, text: str, fonts: _Fonts, lang: str, size: float, x: float,
          y: float, *, bold: bool = False, center: bool = False, max_width: float | None = None,
          color=black) -> None:
    """Draw one line of *text*, shrunk or shortened to *max_width*."""
    font = _font_for(text, fonts, lang, bold)
    if max_width is not None:
        text, size = _fit(text, font, size, max_width)
    pdf.setFillColor(color)
    pdf.setFont(font, size)
    if center:
        pdf.drawCentredString(x, y, text)
    else:
        pdf.drawString(x, y, text)


def _centered(pdf: canvas.Canvas, text: str, fonts: _Fonts, lang: str, size: float, y: float,
              *, bold: bool = False, color=black) -> None:
    """Draw *text* centred on the page, within the frame."""
    width = PAGE[0]
    _text(pdf, text, fonts, lang, size, width / 2, y, bold=bold, center=True,
          max_width=width - 4 * MARGIN, color=color)


def _paragraph(pdf: canvas.Canvas, text: str, fonts: _Fonts, lang: str, top: float,
               width: float, max_lines: int = 4) -> float:
    """Draw *text* wrapped and centred below *top*; return the y under it."""
    font = _font_for(text, fonts, lang, bold=False)
    style = ParagraphStyle("description", fontName=font, fontSize=11, leading=15,
                           alignment=TA_CENTER, textColor=MUTED,
                           wordWrap="CJK" if font != fonts.latin else None)
    limit = style.leading * max_lines

    def height(candidate: str) -> float:
        return Paragraph(escape(candidate), style).wrap(width, 10 * limit)[1]

    if height(text) > limit:  # a description is a summary; the credential has the rest
        low, high = 0, len(text)
        while low < high:
            mid = (low + high + 1) // 2
            if height(text[:mid] + "…") <= limit:
                low = mid
            else:
                high = mid - 1
        text = text[:low].rstrip() + "…"
    paragraph = Paragraph(escape(text), style)
    _, used = paragraph.wrap(width, 10 * limit)
    paragraph.drawOn(pdf, (PAGE[0] - width) / 2, top - used)
    return top - used


def _qr(pdf: canvas.Canvas, url: str, x: float, y: float, size: float) -> None:
    """Draw a QR code of *url* as vector squares (crisp at any zoom or print size)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(url)
    code.make(fit=True)
    matrix = code.get_matrix()  # includes the quiet zone
    modules = len(matrix)
    cell = size / modules
    pdf.setFillColor(white)
    pdf.rect(x, y, size, size, stroke=0, fill=1)
    pdf.setFillColor(black)
    for row, cells in enumerate(matrix):
        # One rectangle per run of dark modules: fewer seams, smaller file.
        col = 0
        while col < modules:
            if not cells[col]:
                col += 1
                continue
            start = col
            while col < modules and cells[col]:
                col += 1
            pdf.rect(x + start * cell, y + size - (row + 1) * cell, (col - start) * cell, cell,
                     stroke=0, fill=1)
