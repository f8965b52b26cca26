"""``qcampus exam``: check the item bank and the catalog, and show a form as a candidate gets it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click

from exams import bank, catalog
from exams.errors import BankError

bank_option = click.option("--bank", "bank_dir", type=click.Path(file_okay=False, path_type=Path),
                           default=None, help="The item bank directory [default: the courses "
                                                "directory's exams/bank].")
catalog_option = click.option("--catalog", "catalog_dir",
                              type=click.Path(file_okay=False, path_type=Path),
                              default=None, help="The exam catalog directory [default: the "
                                                 "courses directory's exams/catalog].")


@click.group()
def exam() -> None:
    """Certification exams: the item bank, the catalog and the forms candidates sit."""


@exam.command("validate")
@bank_option
@catalog_option
@click.option("--courses", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Courses directory with framework.yaml and achievements.yaml "
                   "[default: the checkout's courses/].")
@click.option("--skip-code", is_flag=True, help="Do not run code items' solutions and stubs.")
def validate_command(bank_dir: Path, catalog_dir: Path, courses: Path | None,
                     skip_code: bool) -> None:
    """Check every item and exam; list each problem with its file and field (exit code 31).

    Items: schema, competency and level in the framework, English and Japanese,
    the key against the options, a parametrised item's key for 25 seeds, each
    code item's solution passing and stub failing. Exams: the achievement, and
    three times each blueprint row's items in the bank.
    """
    from exams.validation import check

    report = check(bank_dir, catalog_dir, courses, run_code=not skip_code)
    for problem in report.problems:
        click.echo(problem, err=True)
    if report.problems:
        raise BankError(
            f"{len(report.problems)} problem(s): fix each line above and run this again. / "
            f"{len(report.problems)} 件の問題があります。上の各行を直してから、もう一度実行してください。")
    click.echo(_summary(report))


def _summary(report) -> str:
    """Return a table of the bank by competency and level, and each exam's form."""
    counts = Counter((i.competency, i.level) for i in report.items.values())
    kinds = Counter(i.type for i in report.items.values())
    lines = [f"{'competency':40} {'level':5} items"]
    lines += [f"{c:40} {lv:5} {n:5}" for (c, lv), n in sorted(counts.items())]
    lines.append(f"{len(report.items)} items ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}); "
                 f"{sum(1 for i in report.items.values() if i.parameters)} parametrised.")
    for exam in report.exams.values():
        parts = "; ".join(
            f"Part {p.id}: {sum(r.items for r in p.blueprint) or len(p.tasks)} "
            f"{'items' if p.kind == 'items' else 'tasks'}, {p.minutes} min" for p in exam.parts)
        lines.append(f"{exam.id} ({exam.level}): {parts}; cut {exam.scoring['cut_score']}/"
                     f"{exam.scoring['scale']} → {exam.achievement}")
    return "\n".join(lines) + "\nThe item bank and the catalog are valid."


@exam.command("form")
@click.argument("exam_id")
@click.option("--seed", type=click.IntRange(min=0), required=True, help="The form's seed.")
@click.option("--language", type=click.Choice(["en", "ja"]), default="en", show_default=True)
@bank_option
@catalog_option
def form_command(exam_id: str, seed: int, language: str, bank_dir: Path,
                 catalog_dir: Path) -> None:
    """Print the form of EXAM_ID for SEED as a candidate sees it (JSON, no keys)."""
    from exams import forms

    try:
        items = bank.require(bank_dir)
        exams, found = catalog.load(catalog_dir)
        if found:
            raise BankError("\n".join(found))
        if exam_id not in exams:
            raise BankError(f"There is no exam {exam_id!r}; exams: {', '.join(sorted(exams))}.")
        slots = forms.draw(exams[exam_id], items, seed)
    except BankError as exc:
        raise BankError(f"{exc.message}\nRun `qcampus exam validate` for every problem.") from exc
    shown = [{"part": s.part, **bank.render(items[s.item], s.seed, language)} for s in slots]
    click.echo(json.dumps({"exam": exam_id, "seed": seed, "items": shown}, ensure_ascii=False,
                          indent=1))


@exam.command("analyze")
@click.argument("exam_id")
@click.option("--responses", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              required=True, help="Attempts, one JSON object per line (candidate, language, "
                                  "seed, answers by item id).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for report.html, items.csv and options.csv.")
@bank_option
@catalog_option
def analyze_command(exam_id: str, responses: Path, out: Path, bank_dir: Path,
                    catalog_dir: Path) -> None:
    """Write the quality report of EXAM_ID from its candidates' answers.

    Per item: facility, point-biserial, upper–lower discrimination, option choices of
    the upper and lower groups, 2PL IRT a and b, Mantel–Haenszel DIF between Japanese
    and English candidates, and flags. Per exam: reliability, scores, pass rate, and
    the difficulty of forms across seeds.
    """
    from exams import analysis

    attempts = analysis.read_attempts(responses)
    items = bank.require(bank_dir)
    exams, found = catalog.load(catalog_dir)
    if found or exam_id not in exams:
        raise BankError("\n".join(found) or f"There is no exam {exam_id!r}; exams: "
                        f"{', '.join(sorted(exams))}.")
    result = analysis.analyse(exams[exam_id], items, attempts)
    for path in analysis.write_report(result, out):
        click.echo(f"wrote {path}")
    flagged = sum(1 for s in result.items if s.flags)
    click.echo(f"{result.candidates} candidates, pass rate {result.passed.mean():.1%}, marginal "
               f"reliability {result.marginal_reliability:.2f}, {flagged} item(s) flagged.")


def _deployment_engine(home: Path | None):
    from exams.db import open_engine
    from qcampus import settings as settings_mod

    return open_engine(settings_mod.load(home).exams_database_url)


home_option = click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
                           help="The deployment directory [default: $QCAMPUS_HOME or ./var].")


@exam.command("close")
@home_option
@bank_option
@catalog_option
def close_command(home: Path | None, bank_dir: Path, catalog_dir: Path) -> None:
    """Submit and score every attempt whose time is up, with the answers saved before it.

    The running service does this itself every ``exams.close_every_seconds``; run this
    when it is down. Part B tasks are queued for the grading service with the notebooks
    collected before the deadline, and attempts whose tasks are graded are decided.
    The certificates of passes are issued by the service's next sweep, or when the
    candidate opens the result page.
    """
    from datetime import UTC, datetime

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from exams import attempts
    from exams.db import open_engine
    from exams.models import SCORED, Attempt
    from exams.part_b import PartB, has_tasks
    from qcampus import settings as settings_mod
    from qcampus.database import write_session
    from submissions.db import open_engine as open_submissions
    from submissions.exchange.store import Store

    items = bank.require(bank_dir)
    exams, found = catalog.load(catalog_dir)
    if found:
        raise BankError("\n".join(found))
    settings = settings_mod.load(home)
    engine = open_engine(settings.exams_database_url)
    submissions = open_submissions(settings.submissions_database_url)
    part_b = PartB(settings, engine, None, Store.for_deployment(settings), submissions)
    moment = datetime.now(UTC)
    try:
        with write_session(engine) as session:
            closed = attempts.close_expired(session, exams, items, moment)
        with Session(engine) as session:
            scored = session.scalars(select(Attempt).where(Attempt.state == SCORED,
                                                           Attempt.passed.is_(None))).all()
        decided = []
        for attempt in scored:
            exam = exams[attempt.exam]
            if has_tasks(exam):
                # Graded from the notebooks collected before the deadline.
                part_b.queue(attempt.id, exam, items, moment)
                if part_b.finish(attempt.id, exam, items, moment):
                    decided.append(attempt.id)
    finally:
        engine.dispose()
        submissions.dispose()
    click.echo(f"closed {len(closed)} attempt(s): {', '.join(map(str, closed)) or 'none was due'}")
    if decided:
        click.echo(f"decided {len(decided)} attempt(s) whose Part B is graded: "
                   f"{', '.join(map(str, decided))}")


@exam.command("export")
@click.argument("exam_id")
@home_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The JSON-lines file to write (the input of `qcampus exam analyze`).")
def export_command(exam_id: str, home: Path | None, out: Path) -> None:
    """Write EXAM_ID's scored attempts (voided ones left out) for `qcampus exam analyze`."""
    from sqlalchemy.orm import Session

    from exams import attempts

    engine = _deployment_engine(home)
    try:
        with Session(engine) as session:
            rows = attempts.scored(session, exam_id)
    finally:
        engine.dispose()
    if not rows:
        raise BankError(f"{exam_id} has no scored attempts in this deployment yet. / "
                        f"{exam_id} の採点済みの受験はまだありません。")
    out.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows),
                   encoding="utf-8")
    out.chmod(0o600)  # candidates' names and answers
    click.echo(f"wrote {len(rows)} attempt(s) to {out}")


@exam.command("prepare")
@click.argument("exam_ids", nargs=-1)
@home_option
@bank_option
@catalog_option
def prepare_command(exam_ids: tuple[str, ...], home: Path | None, bank_dir: Path,
                    catalog_dir: Path) -> None:
    """Make the Part B tasks of EXAM_IDS (default: every exam) before candidates start.

    Otherwise the first start that draws a task makes it (nbgrader, the answer key,
    the exchange's release), which takes the candidate seconds to a minute.
    """
    from exams import tasks
    from qcampus import settings as settings_mod

    items = bank.require(bank_dir)
    exams, found = catalog.load(catalog_dir)
    unknown = sorted(set(exam_ids) - set(exams))
    if found or unknown:
        raise BankError("\n".join(found) or f"Unknown exam(s) {', '.join(unknown)}; exams: "
                        f"{', '.join(sorted(exams))}.")
    pools = {item_id for exam_id in (exam_ids or sorted(exams)) for part in exams[exam_id].parts
             for pool in part.tasks for item_id in pool}
    made = tasks.prepare(settings_mod.load(home), [items[i] for i in sorted(pools)])
    click.echo(f"{len(pools)} task(s); made now: {', '.join(made) or 'none, all were ready'}")
