"""The printed certificate: its QR code opens the verification page, in English and Japanese."""

from __future__ import annotations

from datetime import date

import pypdfium2
import pytest
import zxingcpp

from certificates import pdf
from certificates.errors import CertificateError

PUBLIC_URL = "https://campus.example.org/services/qcampus"


def certificate(**changes) -> pdf.PrintedCertificate:
    """Return a printed certificate with sensible values, changed by *changes*."""
    values = dict(
        credential_id="urn:uuid:3f0c5a8e-1111-4222-8333-444455556666",
        achievement_name={"en": "Quantum Computing Foundations", "ja": "量子コンピューティング基礎"},
        achievement_description={
            "en": "Builds, simulates and measures small quantum circuits.",
            "ja": "小さな量子回路を構築し、シミュレートし、測定できる。",
        },
        level="A2",
        level_name={"en": "Literacy", "ja": "リテラシー"},
        issuer="qcampus",
        issued=date(2026, 11, 28),
        valid_until=date(2029, 11, 28),
    )
    values.update(changes)
    return pdf.PrintedCertificate(**values)


def page_text(document: bytes) -> str:
    """Return the text of the first page of *document*."""
    doc = pypdfium2.PdfDocument(document)
    try:
        return doc[0].get_textpage().get_text_range()
    finally:
        doc.close()


def qr_codes(document: bytes, scale: float = 2) -> list[str]:
    """Render the first page of *document* to an image and return the QR codes read from it."""
    doc = pypdfium2.PdfDocument(document)
    try:
        image = doc[0].render(scale=scale).to_pil()
    finally:
        doc.close()
    return [code.text for code in zxingcpp.read_barcodes(image)
            if code.format == zxingcpp.BarcodeFormat.QRCode]


@pytest.mark.parametrize("lang", pdf.LANGUAGES)
def test_qr_code_opens_the_verification_page(lang):
    """The QR code decoded from the rendered page is exactly the verification URL."""
    url = pdf.verification_url(PUBLIC_URL, "urn:uuid:3f0c5a8e-1111-4222-8333-444455556666")
    document = pdf.render(certificate(), lang, url)
    assert document.startswith(b"%PDF-")
    assert qr_codes(document) == [url]


def test_qr_code_survives_a_coarse_rendering():
    """A low-resolution rendering (a phone photo of a print) still yields the URL."""
    url = pdf.verification_url(PUBLIC_URL, "c0ffee")
    assert qr_codes(pdf.render(certificate(), "en", url), scale=1) == [url]


def test_page_is_a4_landscape():
    """The certificate is one A4 page in landscape."""
    doc = pypdfium2.PdfDocument(pdf.render(certificate(), "en", PUBLIC_URL + "/verify/x"))
    try:
        assert len(doc) == 1
        width, height = doc[0].get_size()
    finally:
        doc.close()
    assert (round(width), round(height)) == (842, 595)


def test_english_page_shows_every_field():
    """The English page shows achievement, description, level, dates, id and issuer."""
    text = page_text(pdf.render(certificate(), "en", PUBLIC_URL + "/verify/x"))
    for expected in ("Certificate of Achievement", "Quantum Computing Foundations",
                     "Builds, simulates and measures small quantum circuits.", "A2 Literacy",
                     "2026-11-28", "2029-11-28", "qcampus",
                     "urn:uuid:3f0c5a8e-1111-4222-8333-444455556666"):
        assert expected in text


def test_japanese_page_is_written_in_japanese():
    """The Japanese page carries its title, labels, achievement and level in Japanese."""
    text = page_text(pdf.render(certificate(), "ja", PUBLIC_URL + "/verify/x"))
    for expected in ("認定証", "量子コンピューティング基礎", "小さな量子回路を構築し",
                     "A2 リテラシー", "発行日", "有効期限", "証明書ID"):
        assert expected in text


def test_name_is_shown_only_when_given():
    """Without the learner's consent the page names the credential, not the person."""
    anonymous = page_text(pdf.render(certificate(), "en", PUBLIC_URL + "/verify/x"))
    assert "Holder identified by the credential" in anonymous
    named = page_text(pdf.render(certificate(holder_name="Ada Lovelace"), "en",
                                 PUBLIC_URL + "/verify/x"))
    assert "Ada Lovelace" in named
    assert "Holder identified by the credential" not in named
    japanese = page_text(pdf.render(certificate(), "ja", PUBLIC_URL + "/verify/x"))
    assert "保持者はデジタル証明書の識別子で確認できます" in japanese


def test_japanese_name_on_an_english_page():
    """A Japanese name on an English certificate is printed, not dropped."""
    text = page_text(pdf.render(certificate(holder_name="山田 花子"), "en",
                                PUBLIC_URL + "/verify/x"))
    assert "山田 花子" in text


def test_no_expiry_is_said_in_words():
    """A credential without validUntil says so instead of printing an empty date."""
    assert "No expiry" in page_text(
        pdf.render(certificate(valid_until=None), "en", PUBLIC_URL + "/verify/x"))
    assert "無期限" in page_text(
        pdf.render(certificate(valid_until=None), "ja", PUBLIC_URL + "/verify/x"))


def test_overlong_text_is_shortened_and_the_qr_code_still_reads():
    """A 10 KB name and description are shortened to fit; the page stays one readable page."""
    url = pdf.verification_url(PUBLIC_URL, "x")
    document = pdf.render(certificate(holder_name="N" * 10_000,
                                      achievement_description={"en": "word " * 2000}), "en", url)
    text = page_text(document)
    assert "N" * 10_000 not in text
    assert "…" in text
    assert qr_codes(document) == [url]


def test_markup_in_text_is_printed_literally():
    """Text that looks like reportlab markup is printed as written, not interpreted."""
    text = page_text(pdf.render(
        certificate(achievement_description={"en": "<b>bold</b> & <font size=99>x</font>"}),
        "en", PUBLIC_URL + "/verify/x"))
    assert "<b>bold</b> & <font size=99>x</font>" in text


def test_same_certificate_renders_the_same_bytes():
    """Rendering is deterministic, so a re-download is byte-identical."""
    first = pdf.render(certificate(), "ja", PUBLIC_URL + "/verify/x")
    assert pdf.render(certificate(), "ja", PUBLIC_URL + "/verify/x") == first


@pytest.mark.parametrize("lang", ["fr", "EN", "", "en-US"])
def test_unsupported_language_is_refused_clearly(lang):
    """An unknown language raises a CertificateError that names the supported ones."""
    with pytest.raises(CertificateError) as raised:
        pdf.render(certificate(), lang, PUBLIC_URL + "/verify/x")
    assert "en, ja" in raised.value.message
    assert "認定証の言語" in raised.value.message


def test_verification_url_escapes_the_id():
    """The credential id is one path segment of the verification URL, whatever it contains."""
    assert pdf.verification_url(PUBLIC_URL + "/", "a/b?c") == PUBLIC_URL + "/verify/a%2Fb%3Fc"


def test_japanese_font_is_embedded_when_installed():
    """With an IPAex font installed it is embedded; without, the built-in CID font is named."""
    document = pdf.render(certificate(), "ja", PUBLIC_URL + "/verify/x")
    installed = any(path.is_file() for path in pdf.EMBEDDABLE_JAPANESE_FONTS)
    if installed:
        assert b"/FontFile2" in document
    else:
        assert b"HeiseiKakuGo-W5" in document or b"HeiseiMin-W3" in document


def test_builtin_cid_font_without_an_installed_font(monkeypatch):
    """Without a Japanese font file the page uses reportlab's CID fonts and still reads back."""
    monkeypatch.setattr(pdf, "EMBEDDABLE_JAPANESE_FONTS", ())
    monkeypatch.setattr(pdf, "_FONTS", None)
    url = pdf.verification_url(PUBLIC_URL, "x")
    document = pdf.render(certificate(), "ja", url)
    assert b"HeiseiMin-W3" in document and b"/FontFile2" not in document
    assert "量子コンピューティング基礎" in page_text(document)
    assert qr_codes(document) == [url]


def test_a_declared_name_is_marked_as_such():
    """A name the issuer did not sign is printed with a note that the holder gave it."""
    english = page_text(pdf.render(certificate(holder_name="Ada", holder_name_declared=True),
                                   "en", PUBLIC_URL + "/verify/x"))
    assert "(name as given by the holder)" in english
    japanese = page_text(pdf.render(certificate(holder_name="Ada", holder_name_declared=True),
                                    "ja", PUBLIC_URL + "/verify/x"))
    assert "（氏名は本人の申告によります）" in japanese
    signed = page_text(pdf.render(certificate(holder_name="Ada"), "en", PUBLIC_URL + "/verify/x"))
    assert "(name as given by the holder)" not in signed
