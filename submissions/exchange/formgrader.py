"""Formgrader in instructors' servers: *Autograde* goes to the grading service.

A Jupyter server extension, switched on only in instructors' servers (hub_config
writes their ``jupyter_server_config.json``). It routes nbgrader's
``NbGraderAPI.autograde`` (through :func:`grader.autograde.compat.route_formgrader_autograde`)
to the exchange's grading endpoint with the instructor's own hub token: the
learner's code is graded in the sandbox of the grading service, never in the
instructor's server, where answer keys and hidden tests are readable. Manual
grading, review, overrides and feedback in formgrader are unchanged.
"""

from __future__ import annotations

from nbgrader.exchange import ExchangeError

from submissions.exchange.client import ServiceExchange


def request_grading(api, assignment_id: str, student_id: str) -> dict:
    """Queue *student_id*'s newest submission of *assignment_id* for grading; answer formgrader."""
    exchange = ServiceExchange(coursedir=api.coursedir, authenticator=api.authenticator,
                               config=api.config)
    try:
        answer = exchange.call("POST", f"/courses/{api.coursedir.course_id}/assignments/"
                                       f"{assignment_id}/grading", json={"student": student_id})
    except ExchangeError as exc:
        return {"success": False, "error": str(exc)}
    return {"success": True, "log": answer["message"]}


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "submissions.exchange.formgrader"}]


def _load_jupyter_server_extension(server_app) -> None:
    from grader.autograde.compat import route_formgrader_autograde

    if route_formgrader_autograde(request_grading):
        server_app.log.info("qcampus: formgrader's Autograde goes to the grading service")
    else:
        server_app.log.warning("qcampus: formgrader's Autograde is switched off (untested nbgrader)")
