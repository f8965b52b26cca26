"""A page a learner controls cannot use a staff member's sessions (origin isolation).

Everything under ``/user/<learner>/`` is served by a process the learner
controls: they can replace their server or take over its port. The test plays
that learner by routing ``/user/<learner>/evil/`` on the learner's origin to a
page of its own (through the proxy's REST API, as a replaced server would be
reached), then lets a signed-in instructor's real browser open it. The page tries
what such a page would: read cookies, read the certificates service's staff page
and issue its author a certificate with the form's token, post the issue form
blind, and mint a hub API token for the instructor.

By default (every user and service on its own subdomain) all of it fails. With
``hub.subdomain_host: ""`` (one shared origin) the same page issues the
certificate, which proves the test can see the attack.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from string import Template

import pytest
import requests
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, func, select

from certificates.models import Credential
from hub_config import launcher
from tests.e2e.conftest import (
    Deployment,
    HubProcess,
    activate_staff,
    user_origin,
    wait_for_service,
)
from tests.e2e.test_browser import CHROMIUM_ARGS

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.browser]

ACHIEVEMENT = "gate-engineer-b1"

EVIL_PAGE = Template("""<!doctype html>
<meta charset="utf-8"><title>my notebook</title><pre id="result"></pre>
<script>
const HUB = "$hub", SERVICE = "$service", STAFF = "$staff", LEARNER = "$learner";
async function attempt(fn) {
  try { return await fn(); } catch (e) { return "blocked: " + e.name; }
}
function hidden(text, name) {
  const m = text.match(new RegExp('name="' + name + '" value="([^"]+)"'));
  return m ? m[1] : null;
}
(async () => {
  const out = {cookies: document.cookie};
  out.service_form = await attempt(async () => {
    const page = await fetch(SERVICE + "/admin/", {credentials: "include"});
    const text = await page.text();
    const csrf = hidden(text, "csrf_token");
    if (!csrf) return "no form: " + page.status;
    const body = new URLSearchParams({csrf_token: csrf, request_id: hidden(text, "request_id"),
      learner: LEARNER, achievement: "$achievement", reason: "self-issued"});
    const issued = await fetch(SERVICE + "/admin/issue",
                               {method: "POST", credentials: "include", body});
    return "posted: " + issued.status;
  });
  out.service_blind = await attempt(async () => {
    await fetch(SERVICE + "/admin/issue", {method: "POST", mode: "no-cors",
      credentials: "include", body: new URLSearchParams({learner: LEARNER,
      achievement: "$achievement", reason: "blind"})});
    return "sent";
  });
  out.hub_token = await attempt(async () => {
    const home = await (await fetch(HUB + "/hub/home", {credentials: "include"})).text();
    const m = home.match(/xsrf_token: "([^"]+)"/);
    if (!m) return "no xsrf";
    const made = await fetch(HUB + "/hub/api/users/" + STAFF + "/tokens", {method: "POST",
      credentials: "include", headers: {"X-XSRFToken": m[1], "Content-Type": "application/json"},
      body: JSON.stringify({note: "stolen", expires_in: 600})});
    const model = await made.json();
    return model.token ? "token:" + model.token : "refused: " + made.status;
  });
  document.getElementById("result").textContent = JSON.stringify(out);
})();
</script>
""")


@contextlib.contextmanager
def serve(page: str) -> Iterator[int]:
    """Serve *page* for every path on a loopback port; yield the port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass  # keep the test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def route_learner_page(dep: Deployment, learner: str, port: int) -> str:
    """Route ``/user/<learner>/evil/`` on the learner's origin to *port*; return the page URL."""
    origin = user_origin(dep.url, learner)
    host = origin.partition("://")[2].partition(":")[0]
    # With subdomains the proxy routes by host; the hub's own host has no prefix.
    prefix = "" if dep.settings.subdomain_host == "" else f"/{host}"
    spec = f"{prefix}/user/{learner}/evil"
    proxy_api = f"http://127.0.0.1:{dep.settings['hub']['port'] + 2}/api/routes{spec}"
    response = requests.post(proxy_api, json={"target": f"http://127.0.0.1:{port}"},
                             headers={"Authorization": f"token {launcher.proxy_token(dep.settings)}"},
                             timeout=10)
    assert response.status_code == 201, response.text
    return f"{origin}/user/{learner}/evil/notebook.html"


def credentials_issued(dep: Deployment) -> int:
    engine = create_engine(dep.settings.certificates_database_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(Credential))
    finally:
        engine.dispose()


def attack(dep: Deployment) -> dict:
    """Sign the instructor in to the hub and the service, open the learner's page; return its report."""
    staff, learner = dep.people.instructor, dep.people.learner_a
    service = dep.service_url
    wait_for_service(f"{service}/")
    page_source = EVIL_PAGE.substitute(hub=dep.url, service=service, staff=staff,
                                       learner=learner, achievement=ACHIEVEMENT)
    with serve(page_source) as port, sync_playwright() as p:
        evil_url = route_learner_page(dep, learner, port)
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{dep.url}/hub/login?next=/hub/home")
            password = secrets.token_urlsafe(12)
            activate_staff(dep.url, staff, password)  # staff activate before their first login
            page.fill("#username_input", staff)
            page.fill("#password_input", password)
            page.click("#login_submit")
            page.wait_for_url("**/hub/home", timeout=60_000)
            # The instructor uses the certificates service: it now holds a staff session.
            page.goto(f"{service}/admin/")
            page.wait_for_selector("text=Issue by hand", timeout=60_000)
            # "Please look at my notebook."
            page.goto(evil_url)
            page.wait_for_function(
                "document.getElementById('result').textContent.length > 0", timeout=60_000)
            return json.loads(page.inner_text("#result"))
        finally:
            browser.close()


def test_learner_page_cannot_use_staff_sessions(running_hub):
    """On its own origin a learner's page reads no cookie, issues nothing and mints no token."""
    dep = running_hub.dep
    report = attack(dep)
    assert report["cookies"] == "", report
    assert report["service_form"].startswith("blocked"), report
    assert report["hub_token"].startswith("blocked"), report
    assert credentials_issued(dep) == 0, report
    # The instructor's own session still works: the defence is the origin, not a broken login.
    assert requests.get(f"{dep.service_url}/", timeout=10).status_code == 200


def test_shared_origin_lets_the_same_page_issue(deployment_ready):
    """With one shared origin the same page issues its author a certificate: the attack is real."""
    dep = deployment_ready
    dep.environ["QCAMPUS_HUB__SUBDOMAIN_HOST"] = ""
    dep.settings.values["hub"]["subdomain_host"] = ""
    hub = HubProcess(dep)
    try:
        report = attack(dep)
        assert report["service_form"] == "posted: 200", report
        assert credentials_issued(dep) == 1, report
        assert report["hub_token"].startswith("token:"), report
    finally:
        hub.stop()
