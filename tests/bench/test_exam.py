"""The exam-closing benchmark: its seeded schedule, its paced closing and its report."""

from __future__ import annotations

import argparse
import random
import re
import time

from bench import exam as bench


def test_spread_is_seeded_and_inside_the_window():
    moments = bench.spread(50, 60.0, seed=3)
    assert moments == bench.spread(50, 60.0, seed=3)
    assert moments != bench.spread(50, 60.0, seed=4)
    assert all(0 <= m <= 60.0 for m in moments)


def test_closing_sends_each_submit_once_not_before_its_moment():
    sent: dict[int, float] = {}

    def send(index: int) -> float:
        sent[index] = time.perf_counter()
        return 0.01 * (index + 1)

    moments = [0.2, 0.0, 0.1]
    latencies, first = bench.closing(moments, posters=2, send=send)
    assert sorted(sent) == [0, 1, 2]
    assert latencies == [0.01, 0.02, 0.03]
    for index, moment in enumerate(moments):
        assert sent[index] - first >= moment - 0.001


def test_report_gives_percentiles_and_both_ratios():
    args = argparse.Namespace(exam="quantum-literacy", candidates=4, window=60.0, posters=32)
    text = bench.report(args, [0.1, 0.2, 0.3, 0.4], 12.0, [0.01, 0.02, 0.03, 0.04], 3.0,
                        decided=4, passed=3, issued=3, sitting=["Part B: a line."])
    assert "quantum-literacy: 4 candidates submit within 60 s (32 requests in flight at most); " \
           "4 decided, 3 passed, 3 certified.\nPart B: a line.\n" in text
    qcampus = re.search(r"\| qcampus exam submit .*\| (\d+) ms \| (\d+) ms \| (\d+) ms \| ([\d.]+) s \|",
                        text)
    assert qcampus.groups() == ("250", "370", "400", "12.0")
    assert "| bare Flask endpoint (score, one row) | 25 ms | 37 ms | 40 ms | 3.0 s |" in text
    assert "qcampus / bare, submit p50: 10.0x; until every result: 4.00x." in text


def test_answer_cell_is_the_task_notebooks():
    from exams import tasks

    assert bench.ANSWER_CELL == tasks.ANSWER_CELL


def test_part_a_answers_are_seeded_right_or_wrong():
    people = [argparse.Namespace(attempt=n) for n in (1, 2)]
    keys = {str(n): {"A": [[f"i{k}", "right", "wrong"] for k in range(20)], "B": {}} for n in (1, 2)}
    answers = bench.part_a_answers(people, keys, random.Random(5))
    assert answers == bench.part_a_answers(people, keys, random.Random(5))
    given = [v for by_item in answers.values() for v in by_item.values()]
    assert set(given) == {"right", "wrong"} and len(given) == 40
