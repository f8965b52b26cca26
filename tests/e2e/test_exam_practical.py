"""A whole practitioner exam on a real hub: Part A in the page, Part B in JupyterLab, the deadline.

A learner signs in (their JupyterLab starts), starts the Quantum Programming
Practitioner exam, answers Part A in the page, opens each Part B notebook the
service placed in their JupyterLab, writes the answer cell and saves it. The
time then runs out on the server (the deadline is moved to a few seconds ahead,
as if the candidate had worked until the end): the page's countdown reloads it,
the service collects the notebooks and scores Part A, the grading service grades
the tasks by verdict in the sandbox, and the result page shows the pass. The
certificate's file passes `qcampus cert verify`, and an examiner downloads the
exam's analysis report once ten attempts are scored.

Keys and solutions are computed by a separate interpreter from the attempt's
recorded seed, as an examiner could: never shown to the browser.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from exams.models import Attempt, Event
from hub_config.spawner import system_username
from tests.e2e.conftest import VENV, HubUser, remove_system_user
from tests.e2e.test_browser import CHROMIUM_ARGS
from tests.e2e.test_exam_browser import answer, form_of

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.browser]

EXAM = "quantum-programming-practitioner"

#: Scores nine more attempts of other candidates (random answers), for the analysis report.
MORE_ATTEMPTS = """
import random, sys
from datetime import UTC, datetime
from pathlib import Path
from exams import attempts, bank, catalog, forms
from exams.db import open_engine
from qcampus import settings
from qcampus.database import write_session
exam_id, home = sys.argv[1], sys.argv[2]
items = bank.require()
exam = catalog.load()[0][exam_id]
engine = open_engine(settings.load(Path(home)).exams_database_url)
rng = random.Random(3)
for n in range(9):
    now = datetime.now(UTC)
    with write_session(engine) as session:
        attempt = attempts.start(session, exam, f"cand{n}", rng.choice(["en", "ja"]), now)
        for slot in forms.draw(exam, items, attempt.seed):
            item = items[slot.item]
            if slot.part != "A" or rng.random() < 0.3:
                continue
            key = bank.key_for(item, slot.seed)
            right = key["value"] if item.type == "numeric" else key
            wrong = {"numeric": -1.0, "single": "zz", "multiple": ["zz"], "ordering": ["zz"],
                     "matching": {"zz": "zz"}}[item.type]
            attempts.save(session, attempt.id, attempt.candidate, exam, items, item.id,
                          right if rng.random() < 0.65 else wrong, now)
        attempts.submit(session, attempt.id, exam, items, now, by=attempt.candidate)
engine.dispose()
"""


def write_answer_cell(page, url: str, solution: str) -> None:
    """Open the task notebook in JupyterLab, replace its answer cell by *solution*, save it.

    The answer cell is the third (prompt, setup, answer): reached with the keyboard from
    the first cell, as JupyterLab's windowed notebook renders cells only near the view.
    """
    # ?reset: a fresh workspace holding this notebook alone (JupyterLab would otherwise
    # restore the task opened before, and keystrokes could land in it).
    page.goto(f"{url}?reset")
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    cells = panel.locator(".jp-Notebook .jp-Cell")
    try:
        cells.first.wait_for(timeout=180_000)
        cells.first.click()
        page.keyboard.press("Escape")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        panel.locator(".jp-Cell.jp-mod-selected .cm-editor.cm-focused").wait_for(timeout=60_000)
    except Exception:
        page.screenshot(path="/tmp/qcampus-exam-task.png")
        raise
    editor = panel.locator(".jp-Cell.jp-mod-selected .cm-content")
    for _ in range(20):  # until the editor really is empty (focus may still be arriving)
        page.keyboard.press("Control+a")
        page.keyboard.press("Delete")
        if not editor.inner_text().strip():
            break
        page.wait_for_timeout(500)
    page.keyboard.insert_text(solution)
    title = page.locator(".lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel").inner_text()
    assert url.rsplit("/", 1)[1] == title, (url, title)
    written = editor.inner_text()
    assert solution.strip().splitlines()[0] in written and "NotImplementedError" not in written, written
    page.keyboard.press("Escape")
    saved = "() => !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')"
    for _ in range(4):  # a key press that arrives while the notebook takes focus is lost
        panel.locator(".jp-Notebook").first.focus()
        page.keyboard.press("Control+s")
        try:
            page.wait_for_function(saved, timeout=30_000)
            return
        except PlaywrightTimeout:
            dialog = page.locator(".jp-Dialog")
            if dialog.count():  # JupyterLab asks (the file changed on disk?): that is a finding
                page.screenshot(path="/tmp/qcampus-exam-save.png")
                raise AssertionError(f"saving {url} asked: {dialog.first.inner_text()}") from None
    page.screenshot(path="/tmp/qcampus-exam-save.png")
    raise AssertionError(f"{url} was not saved after four Ctrl+S (/tmp/qcampus-exam-save.png)")


def test_a_practitioner_exam_with_part_b_in_jupyterlab_ends_at_the_deadline_certified(shared_hub,
                                                                                     people, tmp_path):
    dep = shared_hub.dep
    name = dep.people.learner_a
    service = dep.service_url
    engine = create_engine(dep.settings.exams_database_url)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{dep.url}/hub/login")
            page.fill("#username_input", name)
            page.fill("#password_input", secrets.token_urlsafe(12))
            page.click("#login_submit")
            page.wait_for_url(f"**/user/{name}/lab**", timeout=180_000)
            page.wait_for_selector(".jp-LauncherCard", timeout=180_000)

            page.goto(f"{service}/exams/")
            page.wait_for_selector(f"#exam-{EXAM} button[type=submit]", timeout=120_000)
            # The first start of a form with new tasks makes them (nbgrader, answer keys): slow once.
            page.click(f"#exam-{EXAM} button[type=submit]", timeout=300_000)
            page.wait_for_selector("#exam-form", timeout=300_000)
            exam_page = page.url
            attempt_id = int(exam_page.rstrip("/").rsplit("/", 1)[1])
            with Session(engine) as session:
                seed = session.get(Attempt, attempt_id).seed
                placed = session.scalars(select(Event).where(Event.attempt_id == attempt_id,
                                                             Event.action.like("place%"))).all()
                assert [e.action for e in placed] == ["place"], [(e.action, e.detail) for e in placed]
            form = form_of(EXAM, seed)
            assert len(form["B"]) == 2

            links = {row.get_attribute("data-task"): row.locator("a").get_attribute("href")
                     for row in page.locator("#tasks tr[data-task]").all()}
            assert set(links) == set(form["B"])
            for item, solution in form["B"].items():
                write_answer_cell(page, links[item], solution)

            page.goto(exam_page)
            page.wait_for_selector("#exam-form")
            for item, entry in form["A"].items():
                answer(page, item, entry["type"], entry["key"], saved="saved")
            # Work until the end: the server's deadline, a few seconds from now.
            with Session(engine) as session, session.begin():
                session.execute(update(Attempt).where(Attempt.id == attempt_id).values(
                    deadline=datetime.now(UTC) + timedelta(seconds=15)))
            page.reload()
            page.wait_for_url("**/result", timeout=120_000)      # the countdown, then the server
            assert "Time is up" in page.inner_text("main")
            page.wait_for_selector("#verdict.verdict-valid, #verdict.verdict-bad", timeout=600_000)
            with Session(engine) as session:
                attempt = session.get(Attempt, attempt_id)
                log = [(e.action, e.detail) for e in session.scalars(
                    select(Event).where(Event.attempt_id == attempt_id).order_by(Event.id))
                    if e.action != "save"]
                assert attempt.submitted_by == "deadline"
                assert attempt.passed, "\n".join([json.dumps(attempt.result.get("tasks"))]
                                                  + [f"{a} {json.dumps(d)[:300]}" for a, d in log])
                assert attempt.result["parts"]["B"]["points"] == attempt.result["parts"]["B"]["maximum"]
            assert page.inner_text("#scaled") == "1000"

            credential = re.search(r"/verify/([0-9a-f-]{36})",
                                   page.locator("#certificate a").first.get_attribute("href")).group(1)
            # Fetched by the page itself: Chromium resolves *.localhost, Playwright's client does not.
            jwt = page.evaluate("url => fetch(url).then(r => r.ok ? r.text() : '')",
                                f"{service}/my/{credential}/credential.jwt")
            assert jwt.count(".") == 2, jwt[:200]
            (tmp_path / "credential.jwt").write_text(jwt)
            for purpose in ("revocation", "suspension"):   # the signed lists, for offline checking
                listed = page.evaluate("url => fetch(url).then(r => r.ok ? r.text() : '')",
                                       f"{service}/status/{purpose}")
                assert listed, purpose
                (tmp_path / f"{purpose}.jwt").write_text(listed)
        finally:
            browser.close()

    verified = subprocess.run([str(VENV / "bin" / "qcampus"), "cert", "verify",
                               str(tmp_path / "credential.jwt"), "--home", str(dep.settings.home),
                               "--status-list", str(tmp_path / "revocation.jwt"),
                               "--status-list", str(tmp_path / "suspension.jwt")],
                              env=dep.environ, capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    more = subprocess.run([sys.executable, "-c", MORE_ATTEMPTS, EXAM, str(dep.settings.home)],
                          env=dep.environ, timeout=300, capture_output=True, text=True)
    assert more.returncode == 0, more.stderr[-2000:]
    examiner = people.name("e")
    cohort = tmp_path / "staff.csv"
    cohort.write_text(f"username,role,tracks\n{examiner},examiner,\n", encoding="utf-8")
    try:
        added = subprocess.run([str(VENV / "bin" / "qcampus"), "roster", "add", str(cohort),
                                "--home", str(dep.settings.home)], env=dep.environ,
                               capture_output=True, text=True, timeout=180)
        assert added.returncode == 0, added.stdout + added.stderr
        code = re.search(rf"^  {examiner}\t\w+\t([A-Z0-9-]{{19}})\t", added.stdout, re.M).group(1)
        staff, password = HubUser(dep.url, examiner), secrets.token_urlsafe(12)
        assert staff.activate(code, password).status_code == 200
        assert staff.login(password).status_code == 200
        deadline = time.monotonic() + 60
        while (report := staff.session.get(f"{service}/exams/examiners/analysis/{EXAM}")).status_code != 200:
            assert time.monotonic() < deadline, report.text[:500]
            time.sleep(2)
        assert "exam analysis" in report.text and "data:image/png;base64," in report.text
    finally:
        remove_system_user(system_username(examiner))
    engine.dispose()
