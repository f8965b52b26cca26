"""Decide verdicts in child processes with memory and wall-clock limits.

A verdict runs the checks on a learner's exported answer in the grading
worker, and a check simulates: an answer that needs minutes or gigabytes would
hold up every submission queued behind it, or take the worker down. The size
limits of :func:`grader.verdict.check_size` refuse the obvious cases before
anything runs; this module bounds the rest. Each key item is decided in a child
forked from the worker (its Qiskit and dimod already imported), with an
address-space limit on top of the worker's own image and a CPU-time backstop;
the worker waits up to the wall-clock limit, then kills it. An item whose
verdict runs out of either scores 0 with feedback naming the limit, and the
other items and submissions are graded as usual.

The child runs only :func:`grader.verdict.decide` on JSON and OpenQASM text,
never learner code, and answers with one length-prefixed JSON frame.
"""

from __future__ import annotations

import ctypes
import math
import os
import resource
import select
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grader.errors import GraderError, SandboxProtocolError
from grader.feedback import Feedback, Message
from grader.sandbox import frames
from grader.sandbox.limits import MiB, image_bytes
from grader.verdict import decide

#: Largest reply read from a verdict child, in bytes (feedback of one item).
MAX_REPLY_BYTES = 1 * MiB
PR_SET_PDEATHSIG = 1
#: The limits a verdict can run out of.
MEMORY = "memory"
TIME = "time"

_OVER_MEMORY = Message(
    "Checking the answer '{name}' needed more than {memory} MiB of memory (the grader's "
    "resource limit), so it scores 0.",
    "解答 '{name}' の採点に {memory} MiB を超えるメモリが必要でした（採点のリソース制限）。"
    "そのため 0 点です。",
)
_OVER_TIME = Message(
    "Checking the answer '{name}' took longer than {seconds:g} s (the grader's resource "
    "limit), so it scores 0.",
    "解答 '{name}' の採点が {seconds:g} 秒を超えました（採点のリソース制限）。そのため 0 点です。",
)
_LIMIT_HINT = Message(
    "Hand in a smaller answer: fewer qubits and gates, or fewer samples and sweeps.",
    "より小さな解答を提出してください（量子ビット数やゲート数、サンプル数やスイープ数を減らす）。",
)


class VerdictError(GraderError):
    """A verdict child failed in a way that is not a learner's answer over a limit."""


@dataclass(frozen=True)
class VerdictLimits:
    """What deciding one key item may use."""

    #: Address space the child may add to the grading worker's image, in bytes.
    memory_bytes: int = 2048 * MiB
    #: Wall-clock seconds one item's verdict may take.
    seconds: float = 10.0


def decide_confined(key: Mapping[str, Any], answers: Mapping[str, Any],
                    limits: VerdictLimits | None = None) -> dict[str, Any]:
    """Return :func:`grader.verdict.decide`'s verdict, each item decided in a confined child.

    Args:
        key: The instructor's key.
        answers: Exported payloads by answer name.
        limits: Memory and time of each item's child.

    Returns:
        The verdict, as :func:`grader.verdict.decide` returns it; an item over a
        limit has 0 points and feedback naming the limit.

    Raises:
        GraderError: the key is wrong (as :func:`~grader.verdict.decide` raises it),
            or a child failed for another reason than a limit.
    """
    limits = limits or VerdictLimits()
    results = []
    for item in key["items"]:
        verdict = _decide_in_child({"items": [item]}, answers, limits)
        if isinstance(verdict, str):
            results.append(_over_limit(item, limits, verdict))
        else:
            results.extend(verdict["items"])
    return {"items": results, "score": sum(r["points"] for r in results),
            "max_score": sum(r["max_points"] for r in results)}


def _over_limit(item: Mapping[str, Any], limits: VerdictLimits, which: str) -> dict:
    """Return the verdict of an item whose check ran out of *which* ("memory" or "time")."""
    feedback = Feedback(_OVER_MEMORY if which == MEMORY else _OVER_TIME, hint=_LIMIT_HINT, values={
        "name": item["answer"], "memory": limits.memory_bytes // MiB, "seconds": limits.seconds})
    return {"answer": item["answer"], "points": 0.0, "max_points": float(item["points"]),
            "feedback": feedback.to_json()}


def _decide_in_child(key: dict, answers: Mapping[str, Any], limits: VerdictLimits) -> dict | str:
    """Return one item's verdict, or which limit (:data:`MEMORY`, :data:`TIME`) stopped it."""
    reply_r, reply_w = os.pipe()
    ceiling = image_bytes() + limits.memory_bytes
    pid = os.fork()
    if pid == 0:
        os.close(reply_r)
        _child(key, answers, limits, ceiling, reply_w)
    os.close(reply_w)
    try:
        reply = _read_reply(reply_r, time.monotonic() + limits.seconds)
    finally:
        os.close(reply_r)
        # Past the deadline, or after its reply: either way nothing of it may linger.
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if reply is None:
        # Killed by the kernel before replying: CPU time, or an allocation failing in C.
        return TIME if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU \
            else MEMORY
    if reply == TIME:
        return TIME
    if "verdict" in reply:
        return reply["verdict"]
    if "memory" in reply:
        return MEMORY
    if "key_error" in reply:
        raise GraderError(reply["key_error"])
    raise VerdictError(f"the verdict could not be computed: {reply.get('failure', reply)}")


def _child(key: dict, answers: Mapping[str, Any], limits: VerdictLimits, ceiling: int,
           reply: int) -> None:
    """Decide *key* under the limits and write the outcome to *reply*; never returns."""
    outcome: dict[str, Any]
    try:
        # If the grading worker dies, its verdicts die with it.
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
        cpu = math.ceil(limits.seconds) + 1  # a backstop; the worker's clock comes first
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        outcome = {"verdict": decide(key, answers)}
    except MemoryError:
        outcome = {"memory": True}
    except GraderError as exc:
        outcome = {"key_error": str(exc)}
    except BaseException as exc:  # reported to the worker, which fails the notebook with it
        outcome = {"failure": f"{type(exc).__name__}: {exc}"}
    try:
        frames.write(reply, outcome)
    finally:
        os._exit(0)


def _read_reply(fd: int, deadline: float) -> dict | str | None:
    """Read the child's frame until end of file; :data:`TIME` past *deadline*, None if none came."""
    data = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return TIME
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_REPLY_BYTES:
            raise VerdictError(f"a verdict's reply is over {MAX_REPLY_BYTES} bytes")
    if len(data) < frames.HEADER.size:
        return None
    size = frames.HEADER.unpack_from(data)[0]
    try:
        return frames.decode(bytes(data[frames.HEADER.size:frames.HEADER.size + size]))
    except SandboxProtocolError as exc:
        raise VerdictError(str(exc)) from exc
