"""A learner in a real browser: login page to JupyterLab with the Assignments tab."""

from __future__ import annotations

import secrets

import pytest
from playwright.sync_api import sync_playwright

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.browser]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def test_login_to_assignments_tab(running_hub):
    """Headless Chromium logs a learner in and shows the released assignment, without formgrader."""
    dep = running_hub.dep
    name = dep.people.learner_a
    assignment = dep.track.assignments[0].id
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{dep.url}/hub/login")
            page.fill("#username_input", name)
            page.fill("#password_input", secrets.token_urlsafe(12))
            page.click("#login_submit")
            page.wait_for_url(f"**/user/{name}/lab**", timeout=120_000)
            page.wait_for_selector(".jp-LauncherCard", timeout=120_000)
            page.click(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
            items = [t for t in page.locator(".lm-Menu-itemLabel").all_inner_texts() if t]
            assert items == ["Assignment List"]
            page.click(".lm-Menu-itemLabel:text-is('Assignment List')")
            page.wait_for_selector(".lm-TabBar-tabLabel:text-is('Assignments')", timeout=60_000)
            page.wait_for_selector(f"text={assignment}", timeout=60_000)
            assert page.locator(f"text={dep.track.id}").count() >= 1
        finally:
            browser.close()


def test_instructor_formgrader_in_lab(running_hub):
    """An instructor's per-track server shows formgrader inside JupyterLab with the assignment."""
    dep = running_hub.dep
    name, track = dep.people.instructor, dep.track.id
    assignment = dep.track.assignments[0].id
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{dep.url}/hub/login?next=/hub/spawn/{name}/{track}")
            page.fill("#username_input", name)
            page.fill("#password_input", secrets.token_urlsafe(12))
            page.click("#login_submit")
            page.wait_for_url(f"**/user/{name}/{track}/lab**", timeout=120_000)
            page.wait_for_selector(".jp-LauncherCard", timeout=120_000)
            page.click(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
            page.click(".lm-Menu-itemLabel:text-is('Formgrader')")
            frame = page.frame_locator("iframe").first
            frame.locator(f"text={assignment}").first.wait_for(timeout=60_000)
        finally:
            browser.close()
