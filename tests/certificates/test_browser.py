"""In a real browser: the PDF's QR code opens the verification page; revocation shows there.

The service runs as a real HTTP server on a free loopback port (werkzeug in a
thread of this process, so the stand-in hub of the unit tests can sign users
in; no JupyterHub runs here). Headless Chromium (Debian's ``/usr/bin/chromium``)
is driven by Playwright.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pypdfium2
import pytest
import requests
import zxingcpp
from werkzeug.serving import BaseWSGIServer, make_server

from certificates import issuance
from tests.certificates.conftest import FakeHub

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@dataclass
class LiveService:
    """The certificates service answering on loopback."""

    app: object
    url: str
    hub: FakeHub

    def session_cookie(self, name: str, groups: tuple[str, ...] = ()) -> dict[str, str]:
        """Return the session cookie of a new hub user *name*, as the OAuth callback would set it."""
        from web.sessions import ServerSession

        token = self.hub.add_user(name, groups)
        session = ServerSession()
        session["hub_token"] = token
        with self.app.test_request_context():
            self.app.session_interface.save_session(self.app, session,
                                                    self.app.response_class())
        return {"name": self.app.config["SESSION_COOKIE_NAME"], "value": session.sid}


@pytest.fixture
def live_service(tmp_path: Path) -> Iterator[LiveService]:
    """Yield the service on a free loopback port; its public URL is that address."""
    from certificates import deployment as cert_deployment
    from qcampus import settings as settings_module
    from web import create_app

    def not_ready(environ, start_response):
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
        return [b"starting"]

    server: BaseWSGIServer = make_server("127.0.0.1", 0, not_ready, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    home = tmp_path / "home"
    home.mkdir()
    values = settings_module.merge({"certificates": {"public_url": url}})
    (home / settings_module.SETTINGS_FILE).write_text(settings_module.dump(values))
    cert_deployment.init(settings_module.load(home, {}))
    hub = FakeHub()
    app = create_app({"QCAMPUS_HOME": home, "RATELIMIT_STORAGE_URI": "memory://",
                      "HUB_AUTH": hub, "SERVICE_PREFIX": "/", "TRUSTED_PROXIES": 0})
    server.app = app
    thread = threading.Thread(target=server.serve_forever, name="certificates-service")
    thread.start()
    try:
        yield LiveService(app, url, hub)
    finally:
        server.shutdown()
        thread.join(timeout=30)
        server.server_close()


@pytest.fixture
def chromium() -> Iterator[object]:
    """Yield a headless Chromium browser."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; run scripts/bootstrap --test to install it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def qr_url_of(document: bytes) -> str:
    """Render the PDF's first page to an image and return the one QR code on it."""
    doc = pypdfium2.PdfDocument(document)
    try:
        image = doc[0].render(scale=2).to_pil()
    finally:
        doc.close()
    codes = [code.text for code in zxingcpp.read_barcodes(image)]
    assert len(codes) == 1, codes
    return codes[0]


def test_qr_code_of_the_pdf_opens_valid_then_revoked(live_service, chromium):
    """Scan the PDF's QR code, see "valid" in Chromium, revoke as instructor, reload: "revoked"."""
    with live_service.app.app_context():
        issued = issuance.issue(issuance.current_issuer(), issuance.IssueRequest(
            learner="alice", achievement_id="foundations-a2", source="exam:browser-test",
            actor="exams", reason="passed the Foundations exam"))
    credential_uuid = issued.credential_id.removeprefix("urn:uuid:")

    # The learner downloads the Japanese PDF over HTTP.
    alice = live_service.session_cookie("alice", ("learners",))
    answer = requests.get(f"{live_service.url}/my/{credential_uuid}/certificate.pdf",
                          params={"lang": "ja"}, cookies={alice["name"]: alice["value"]},
                          timeout=30)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/pdf"
    url = qr_url_of(answer.content)
    assert url == f"{live_service.url}/verify/{credential_uuid}"

    # An employer opens the scanned address.
    employer = chromium.new_context(locale="ja-JP")
    page = employer.new_page()
    page.goto(url)
    outcome = page.locator("#outcome")
    assert "Valid" in outcome.inner_text()
    assert "有効" in outcome.inner_text()
    assert page.locator("#verdict").get_attribute("data-outcome") == "valid"
    assert "量子技術の基礎" in page.content()

    # An instructor revokes it on the admin page, in the browser.
    instructor = chromium.new_context(locale="en-US")
    cookie = live_service.session_cookie("ada", ("instructors",))
    instructor.add_cookies([{**cookie, "url": live_service.url}])
    admin = instructor.new_page()
    admin.goto(f"{live_service.url}/admin/credentials/{credential_uuid}")
    admin.select_option("#action", "revoke")
    admin.select_option("#reason_category", "issued_in_error")
    admin.fill("#reason", "wrong candidate number")
    with admin.expect_navigation():
        admin.click("form[action$='/status'] button[type=submit]")
    assert admin.locator("#status").inner_text().strip() == "revoked"

    # The employer reloads the same page.
    page.reload()
    outcome = page.locator("#outcome")
    assert "Revoked" in outcome.inner_text()
    assert "失効" in outcome.inner_text()
    assert page.locator("#verdict").get_attribute("data-outcome") == "revoked"
    assert "Issued in error" in page.locator("#reason").inner_text()
    employer.close()
    instructor.close()
