"""A learner in a real browser: login page to JupyterLab with the Assignments tab and a lesson."""

from __future__ import annotations

import contextlib
import json
import pwd
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, sync_playwright

from hub_config.spawner import system_username
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


def run_menu(page: Page, item: str) -> None:
    """Choose *item* from JupyterLab's Run menu."""
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(f".lm-Menu-itemLabel:text-is('{item}')")


def code_cell(notebook: Locator, source: str) -> Locator:
    """Return the first code cell of *notebook* whose source contains *source*."""
    inputs = notebook.page.locator(".jp-InputArea", has_text=source)
    return notebook.locator(".jp-CodeCell").filter(has=inputs).first


def assert_image_drawn(cell: Locator) -> None:
    """Wait for an image output in *cell* and assert the browser decoded it to a non-empty picture."""
    image = cell.locator(".jp-OutputArea .jp-RenderedImage img").first
    image.wait_for(state="attached", timeout=300_000)
    image.scroll_into_view_if_needed()
    image.wait_for(state="visible")
    width = image.evaluate("img => img.decode().then(() => img.naturalWidth)")
    assert width > 0, cell.text_content()


def test_login_to_assignments_tab(shared_hub):
    """Headless Chromium logs a learner in and shows the released assignment, without formgrader."""
    dep = shared_hub.dep
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


def test_instructor_formgrader_in_lab(shared_hub):
    """An instructor's per-track server shows formgrader inside JupyterLab with the assignment."""
    dep = shared_hub.dep
    name, track = dep.people.instructor, dep.track.id
    assignment = dep.track.assignments[0].id
    with lab_page(dep.url, name, f"/user/{name}/{track}/lab",
                  next_path=f"/hub/spawn/{name}/{track}") as page:
        page.click(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
        page.click(".lm-Menu-itemLabel:text-is('Formgrader')")
        frame = page.frame_locator("iframe").first
        frame.locator(f"text={assignment}").first.wait_for(timeout=60_000)


def test_learner_submits_and_reads_feedback_without_an_instructor(shared_hub):
    """In Chromium a learner fetches, submits, then fetches feedback with a score; nobody else acts."""
    dep = shared_hub.dep
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


def test_lesson_renders_its_headings_math_and_figures(shared_hub):
    """A learner fetches and runs the first lesson in JupyterLab: Japanese headings, MathJax, figures."""
    dep = shared_hub.dep
    name, track = dep.people.learner_a, dep.track.id
    lesson = dep.track.assignments[0]
    with lab_page(dep.url, name, f"/user/{name}/lab") as page:
        page.click(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
        page.click(".lm-Menu-itemLabel:text-is('Assignment List')")
        page.click("#released_assignments_list button:text-is('Fetch')", timeout=180_000)
        # A fetched assignment's name unfolds its notebooks; a notebook's name opens it in JupyterLab.
        page.click(f"#fetched_assignments_list a:text-is('{lesson.id}')", timeout=180_000)
        page.click(f"#nbgrader-{track}-{lesson.id} .item_name a:text-is('{lesson.id}')")
        fetched = Path(pwd.getpwnam(system_username(name)).pw_dir, track, lesson.id,
                       f"{lesson.id}.ipynb")
        cells = json.loads(fetched.read_text(encoding="utf-8"))["cells"]
        assert not [c["outputs"] for c in cells if c.get("outputs")]  # what shows below comes from running it
        notebook = page.locator(".jp-NotebookPanel .jp-Notebook")
        notebook.locator(".jp-Cell").first.wait_for(timeout=120_000)
        # Cells run before the notebook's own kernel is up start a second one, and are lost with it.
        page.locator("#jp-main-statusbar", has_text="| Idle").wait_for(timeout=180_000)

        # Run All stops at the first self-check, whose function the learner has yet to write.
        run_menu(page, "Run All Cells")
        notebook.locator(".jp-OutputArea-output", has_text="NotImplementedError").first.wait_for(
            state="attached", timeout=300_000)
        heading = notebook.locator(".jp-RenderedMarkdown h1", has_text=lesson.title["ja"])
        heading.scroll_into_view_if_needed()
        heading.wait_for(state="visible")
        assert lesson.title["en"] in heading.text_content()
        # MathJax replaces every $...$ of the rendered text; TeX left as text was never typeset.
        page.wait_for_function(r"""() => {
            const md = [...document.querySelectorAll('.jp-NotebookPanel .jp-RenderedMarkdown')];
            return md.length > 0 && md.every(e => !/\\[A-Za-z]+/.test(e.textContent));
        }""", timeout=120_000)
        formula = notebook.locator(".jp-RenderedMarkdown mjx-container").first
        formula.scroll_into_view_if_needed()
        formula.wait_for(state="visible")
        assert_image_drawn(code_cell(notebook, 'draw("mpl")'))

        # The sampled counts and their spread come after the exercises: run them from their example on.
        code_cell(notebook, "plot_histogram(counts").locator(".jp-InputPrompt").click()
        run_menu(page, "Run Selected Cell and All Below")
        assert_image_drawn(code_cell(notebook, "plot_histogram(counts"))
        assert_image_drawn(code_cell(notebook, "display(fig)"))
