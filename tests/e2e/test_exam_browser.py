"""A candidate sits the Quantum Literacy exam in Chromium on a real deployment and is certified.

The learner signs in at the hub, opens the exams in the qcampus service (hub
OAuth), starts the exam in Japanese, answers every item by clicking and typing
(each answer saved by the page as it is given), reloads, submits, and reads the
result with the certificate, which the public verification page finds valid.
The keys the test answers with are computed by a separate interpreter from the
attempt's recorded seed, as an examiner could: never shown to the browser.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys

import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from exams.models import Attempt
from tests.e2e.test_browser import CHROMIUM_ARGS

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.browser]

EXAM = "quantum-literacy"

#: Prints an attempt's form: Part A's keys as the page's fields take them and Part B's
#: reference solutions (a child interpreter: a generated key may simulate, and no simulator
#: runs in the test process).
FORM = """
import json, sys
from exams import bank, catalog, forms
exam_id, seed = sys.argv[1], int(sys.argv[2])
items = bank.require()
exam = catalog.load()[0][exam_id]
found = {"A": {}, "B": {}}
for slot in forms.draw(exam, items, seed):
    item = items[slot.item]
    if slot.part == "B":
        found["B"][slot.item] = item.code["solution"]
        continue
    key = bank.key_for(item, slot.seed)
    found["A"][slot.item] = {"type": item.type,
                             "key": repr(key["value"]) if item.type == "numeric" else key}
print(json.dumps(found))
"""


def form_of(exam: str, seed: int) -> dict:
    """Return the form drawn with *seed*: {"A": keys by item, "B": solutions by task}."""
    return json.loads(subprocess.run([sys.executable, "-c", FORM, exam, str(seed)],
                                     capture_output=True, text=True, check=True).stdout)


def answer(page: Page, item: str, kind: str, key, saved: str = "保存済み") -> None:
    """Give *key* to *item* the way a candidate does: click, choose or type; wait until *saved*."""
    field = page.locator(f'fieldset[data-item="{item}"]')
    name = f"answer-{item}"
    if kind == "single":
        field.locator(f'input[name="{name}"][value="{key}"]').check()
    elif kind == "multiple":
        for option in key:
            field.locator(f'input[name="{name}"][value="{option}"]').check()
    elif kind == "numeric":
        field.locator(f'input[name="{name}"]').fill(key)
        field.locator(f'input[name="{name}"]').blur()
    elif kind == "ordering":
        for position, option in enumerate(key):
            field.locator(f'select[name="{name}-{position}"]').select_option(option)
    elif kind == "matching":
        for left, right in key.items():
            field.locator(f'select[name="{name}-{left}"]').select_option(right)
    field.locator(f".status:text-is('{saved}')").wait_for(timeout=30_000)


def test_a_candidate_sits_part_a_in_the_browser_and_is_certified(shared_hub):
    dep = shared_hub.dep
    name = dep.people.learner_a
    service = dep.service_url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{dep.url}/hub/login")
            page.fill("#username_input", name)
            page.fill("#password_input", secrets.token_urlsafe(12))
            page.click("#login_submit")
            page.wait_for_url(f"**/user/{name}/**", timeout=180_000)

            page.goto(f"{service}/exams/?lang=ja")
            page.wait_for_selector(f"#exam-{EXAM}", timeout=120_000)
            assert "量子リテラシー" in page.inner_text(f"#exam-{EXAM}")
            listed = page.inner_text(f"#exam-{EXAM}")
            assert "40 問" in listed and "合格点: 600 / 1000" in listed
            # Part B is delivered into JupyterLab: the practitioner exams can be started too.
            assert page.locator("#exam-quantum-programming-practitioner button[type=submit]").count() == 1
            page.select_option(f"#language-{EXAM}", "ja")
            page.click(f"#exam-{EXAM} button[type=submit]")
            page.wait_for_selector("#exam-form", timeout=60_000)
            attempt_id = int(page.url.rstrip("/").rsplit("/", 1)[1])

            engine = create_engine(dep.settings.exams_database_url)
            with Session(engine) as session:
                attempt = session.scalar(select(Attempt).where(Attempt.id == attempt_id))
                assert attempt.candidate == name and attempt.language == "ja"
                seed = attempt.seed
            engine.dispose()
            keys = form_of(EXAM, seed)["A"]
            shown = page.locator("fieldset.item").count()
            assert shown == len(keys) == 40
            for item, entry in keys.items():
                answer(page, item, entry["type"], entry["key"])

            page.reload()                                         # the same form, every answer kept
            page.wait_for_selector("#exam-form")
            assert page.locator("fieldset.item .status:text-is('保存済み')").count() == 40
            remaining = int(page.get_attribute("#timer", "data-remaining"))
            assert 0 < remaining <= 60 * 60

            page.click("#submit")
            page.wait_for_selector("#verdict", timeout=60_000)
            assert "合格" in page.inner_text("#verdict")
            assert page.inner_text("#scaled") == "1000"
            link = page.locator("#certificate a").first
            credential_page = link.get_attribute("href")
            page.goto(credential_page)
            page.wait_for_selector('[data-outcome="valid"]', timeout=60_000)
        finally:
            browser.close()
