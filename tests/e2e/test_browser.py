"""A learner in a real browser: login page to JupyterLab with the Assignments tab."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.e2e.conftest import activate_staff

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.browser]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextlib.contextmanager
def lab_page(url: str, name: str, lab_path: str, next_path: str = "") -> Iterator[Page]:
    """Log *name* in at first use through the hub's form; yield the page once JupyterLab is ready."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{url}/hub/login" + (f"?next={next_path}" if next_path else ""))
            password = secrets.token_urlsafe(12)
            activate_staff(url, name, password)  # staff activate before their first login
            page.fill("#username_input", name)
            page.fill("#password_input", password)
            page.click("#login_submit")
            page.wait_for_url(f"**{lab_path}**", timeout=120_000)
            page.wait_for_selector(".jp-LauncherCard", timeout=120_000)
            yield page
        finally:
            browser.close()


def test_login_to_assignments_tab(running_hub):
    """Headless Chromium logs a learner in and shows the released assignment, without formgrader."""
    dep = running_hub.dep
    name = dep.people.learner_a
    assignment = dep.track.assignments[0].id
    with lab_page(dep.url, name, f"/user/{name}/lab") as page:
        page.click(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
        items = [t for t in page.locator(".lm-Menu-itemLabel").all_inner_texts() if t]
        assert items == ["Assignment List"]
        page.click(".lm-Menu-itemLabel:text-is('Assignment List')")
        page.wait_for_selector(".lm-TabBar-tabLabel:text-is('Assignments')", timeout=60_000)
        page.wait_for_selector(f"text={assignment}", timeout=60_000)
        assert page.locator(f"text={dep.track.id}").count() >= 1


def test_instructor_formgrader_in_lab(running_hub):
    """An instructor's per-track server shows formgrader inside JupyterLab with the assignment."""
    dep = running_hub.dep
    name, track = dep.people.instructor, dep.track.id
    assignment = dep.track.assignments[0].id
    with lab_page(dep.url, name, f"/user/{name}/{track}/lab",
                  next_path=f"/hub/spawn/{name}/{track}") as page:
        page.click(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
        page.click(".lm-Menu-itemLabel:text-is('Formgrader')")
        frame = page.frame_locator("iframe").first
        frame.locator(f"text={assignment}").first.wait_for(timeout=60_000)


def test_learner_submits_and_reads_feedback_without_an_instructor(running_hub):
    """In Chromium a learner fetches, submits, then fetches feedback with a score; nobody else acts."""
    dep = running_hub.dep
    name = dep.people.learner_a
    assignment = dep.track.assignments[0].id
    with lab_page(dep.url, name, f"/user/{name}/lab") as page:
        page.click(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
        page.click(".lm-Menu-itemLabel:text-is('Assignment List')")
        page.wait_for_selector(f"text={assignment}", timeout=180_000)
        page.click("#released_assignments_list button:text-is('Fetch')", timeout=180_000)
        page.click("#fetched_assignments_list button:text-is('Submit')", timeout=180_000)
        page.wait_for_selector("#submitted_assignments_list >> text=" + assignment, timeout=180_000)
        # The grading service grades and releases feedback; the learner only refreshes the list,
        # whose row then says so (nbgrader's Assignments tab: "feedback available to fetch").
        deadline = time.monotonic() + 600
        while not page.locator("text=feedback available to fetch").count():
            assert time.monotonic() < deadline, page.inner_text("body")[-2000:]
            page.click("#refresh_assignments_list")
            page.wait_for_timeout(2_000)
        page.locator("button:has-text('Fetch Feedback')").first.click(timeout=60_000)
        page.wait_for_selector("text=(view feedback)", timeout=180_000)
        page.click("text=(view feedback)")
        page.wait_for_selector(f".jp-DirListing-item:has-text('{assignment}.html')", timeout=180_000)
        page.dblclick(f".jp-DirListing-item:has-text('{assignment}.html')")
        frame = page.frame_locator("iframe").first
        frame.locator("text=/Score: \\d/").first.wait_for(timeout=180_000)
