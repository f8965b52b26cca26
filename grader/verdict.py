"""Compute the verdict on exported answers in a trusted process.

This module runs where learner code never ran. It reads two JSON documents:
the instructor's *key* and the learner's exported *answers*
(:func:`grader.export.collect_answers`), and runs the same checks as the
ordinary mode on decoded answers. It never unpickles, never loads QPY and
parses OpenQASM only after checking every statement against the small subset
:mod:`grader.export` writes (no ``include`` but ``stdgates.inc``, no
definitions, no classical control), with size caps first.

A key is ``{"items": [{"answer": NAME, "check": CHECK, "points": P,
"expected": PAYLOAD, "options": {...}, "limits": {...}}]}`` where ``expected``
is encoded like an answer (:func:`grader.export.encode_answer`; :func:`key_item`
builds one), ``CHECK`` is one of :data:`CHECKS` and the optional ``limits``
replace :data:`DEFAULT_LIMITS` for that item. A circuit answer over its item's
limits scores 0 with feedback naming the limit, before anything simulates it.
Run it as::

    python -I -m grader.verdict KEY.json ANSWERS.json

which prints ``{"items": [...], "score": S, "max_score": M}``.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from grader.errors import AnswerFormatError, CheckFailed, GraderError, InvalidCheckError
from grader.export import MAX_ANSWER_BYTES, STANDARD_GATES, encode_answer
from grader.feedback import Feedback, Message

#: Largest answers document read, in bytes.
MAX_ANSWERS_BYTES = 4 * MAX_ANSWER_BYTES
#: Largest exported circuit, in qubits, and in statements.
MAX_CIRCUIT_QUBITS = 32
MAX_STATEMENTS = 20_000
#: Largest exported observable, in Pauli terms (its qubits are capped like a circuit's).
MAX_TERMS = 10_000
#: Largest exported model, in variables and interactions.
MAX_VARIABLES = 5_000
MAX_INTERACTIONS = 100_000
#: Largest learner circuit an item simulates, unless the item's key sets its own ``limits``:
#: a state vector of 16 qubits over 2,000 gates takes a few seconds; 22 qubits over 200
#: gates took 29 s, and every qubit more doubles time and memory.
DEFAULT_LIMITS = {"qubits": 16, "gates": 2_000}

_NO_ANSWER = Message(
    "No answer named '{name}' was exported.",
    "'{name}' という名前の解答が出力されていません。",
)
_BAD_ANSWER = Message(
    "The answer '{name}' could not be read: {reason}",
    "解答 '{name}' を読み取れませんでした：{reason}",
)
_BAD_HINT = Message(
    "Run the test cell unchanged after your solution, and export the object the task asks for.",
    "解答のあとでテストセルを変更せずに実行し、課題が求めるオブジェクトを出力してください。",
)

_TOO_MANY = {
    "qubits": Message(
        "Your answer '{name}' has {found} qubits; this item accepts circuits of at most {limit} "
        "qubits (the grader's size limit), so it scores 0.",
        "解答 '{name}' は {found} 量子ビットです。この問題で受け付ける回路は {limit} 量子ビットまで"
        "です（採点のサイズ上限）。そのため 0 点です。"),
    "gates": Message(
        "Your answer '{name}' has {found} gates; this item accepts circuits of at most {limit} "
        "gates (the grader's size limit), so it scores 0.",
        "解答 '{name}' のゲート数は {found} です。この問題で受け付ける回路は {limit} ゲートまで"
        "です（採点のサイズ上限）。そのため 0 点です。"),
}
_WIDE_OBSERVABLE = Message(
    "Your answer '{name}' acts on {found} qubits; this item accepts observables on at most "
    "{limit} qubits (the grader's size limit), so it scores 0.",
    "解答 '{name}' は {found} 量子ビットに作用します。この問題で受け付けるオブザーバブルは "
    "{limit} 量子ビットまでです（採点のサイズ上限）。そのため 0 点です。")
_SMALLER_HINT = Message(
    "Solve the task with the qubits it gives you, and simplify the circuit before exporting it.",
    "課題で与えられた量子ビットだけを使い、回路を簡単にしてから出力してください。",
)

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_EXPRESSION = rf"(?:{_NUMBER}|pi|π|[-+*/() ])+"
_OPERAND = r"[A-Za-z_]\w*\[\d+\]"
_STATEMENT = re.compile(
    r"^(?:OPENQASM 3(?:\.0)?"
    r'|include "stdgates\.inc"'
    r"|(?:qubit|bit)\[\d+\] [A-Za-z_]\w*"
    rf"|(?:{'|'.join(sorted(STANDARD_GATES, key=len, reverse=True))}|U)"
    rf"(?:\({_EXPRESSION}(?:, ?{_EXPRESSION})*\))? {_OPERAND}(?:, ?{_OPERAND})*"
    rf"|{_OPERAND} = measure {_OPERAND}"
    rf"|barrier {_OPERAND}(?:, ?{_OPERAND})*"
    r")$"
)


def _reject(reason: str) -> AnswerFormatError:
    return AnswerFormatError(reason)


def decode_circuit(payload: Mapping[str, Any]) -> Any:
    """Return a ``QuantumCircuit`` from an exported circuit, after whitelisting its text.

    Raises:
        AnswerFormatError: The text is over the cap, has a statement the
            exporter never writes, or does not parse.
    """
    text, phase = payload.get("qasm"), payload.get("global_phase", 0.0)
    if not isinstance(text, str) or not isinstance(phase, int | float):
        raise _reject("a circuit needs OpenQASM text and a numeric global phase")
    statements = [s.strip() for s in text.split(";") if s.strip()]
    if len(statements) > MAX_STATEMENTS:
        raise _reject(f"the circuit has over {MAX_STATEMENTS} statements")
    for statement in statements:
        if not _STATEMENT.match(statement):
            raise _reject(f"unsupported OpenQASM statement {statement[:60]!r}")
    sizes = [int(n) for n in re.findall(r"qubit\[(\d+)\]", text)]
    if sum(sizes) > MAX_CIRCUIT_QUBITS:
        raise _reject(f"the circuit has over {MAX_CIRCUIT_QUBITS} qubits")
    from qiskit import qasm3

    try:
        circuit = qasm3.loads(text)
    except Exception as error:  # the parser's errors share no base class we could name
        raise _reject(f"OpenQASM does not parse ({type(error).__name__})") from error
    circuit.global_phase = float(phase)
    return circuit


def decode_bqm(payload: Mapping[str, Any]) -> Any:
    """Return a BQM from dimod's JSON form, after checking its shape and caps.

    Raises:
        AnswerFormatError: The form is not dimod's list-based serialisation or
            is over the caps.
    """
    import dimod

    model = payload.get("model")
    if not isinstance(model, Mapping) or model.get("use_bytes") is not False:
        raise _reject("a model must be dimod's to_serializable(use_bytes=False) form")
    labels = model.get("variable_labels")
    lists = [model.get(k) for k in ("linear_biases", "quadratic_biases",
                                    "quadratic_head", "quadratic_tail")]
    if not isinstance(labels, list) or not all(isinstance(x, list) for x in lists):
        raise _reject("a model needs variable labels and bias lists")
    if len(labels) > MAX_VARIABLES or len(lists[1]) > MAX_INTERACTIONS:
        raise _reject("the model is over the size cap")
    if model.get("variable_type") not in ("BINARY", "SPIN"):
        raise _reject("a model's variable type must be BINARY or SPIN")
    clean = {k: model[k] for k in ("type", "version", "use_bytes", "variable_labels",
                                   "variable_type", "offset", "linear_biases",
                                   "quadratic_biases", "quadratic_head", "quadratic_tail")}
    try:
        return dimod.BinaryQuadraticModel.from_serializable(clean)
    except (ValueError, TypeError, KeyError, IndexError) as error:
        raise _reject(f"the model is malformed ({error})") from error


def decode_observable(payload: Mapping[str, Any]) -> Any:
    """Return a ``SparsePauliOp`` from exported ``[label, real, imag]`` terms, after checking them.

    Raises:
        AnswerFormatError: A term is not a Pauli label with two finite numbers, the
            labels differ in length, or the observable is over the caps.
    """
    terms = payload.get("terms")
    if not isinstance(terms, list) or not terms or len(terms) > MAX_TERMS:
        raise _reject(f"an observable needs 1 to {MAX_TERMS} terms [label, real, imag]")
    widths = set()
    for term in terms:
        if not (isinstance(term, list) and len(term) == 3 and isinstance(term[0], str)
                and re.fullmatch(r"[IXYZ]+", term[0])
                and all(isinstance(x, int | float) and not isinstance(x, bool)
                        and math.isfinite(x) for x in term[1:])):
            raise _reject("each term of an observable must be [Pauli label, real, imag]")
        widths.add(len(term[0]))
    if len(widths) != 1:
        raise _reject("the terms of an observable act on different numbers of qubits")
    if widths.pop() > MAX_CIRCUIT_QUBITS:
        raise _reject(f"the observable acts on over {MAX_CIRCUIT_QUBITS} qubits")
    from qiskit.quantum_info import SparsePauliOp

    return SparsePauliOp.from_list([(label, complex(re_, im)) for label, re_, im in terms])


def decode(payload: Any, model: Any = None) -> Any:
    """Return the Python object of an exported answer.

    Args:
        payload: One answer payload.
        model: The key's model, to recompute a sample set's energies.

    Raises:
        AnswerFormatError: The payload is malformed, conflicting or oversized.
    """
    if not isinstance(payload, Mapping):
        raise _reject("the answer is not a JSON object")
    kind = payload.get("type")
    if kind == "circuit":
        return decode_circuit(payload)
    if kind == "bqm":
        return decode_bqm(payload)
    if kind == "observable":
        return decode_observable(payload)
    if kind == "json":
        return payload.get("value")
    if kind == "array":
        import numpy as np

        try:
            return np.asarray(payload["real"], dtype=float) + 1j * np.asarray(
                payload["imag"], dtype=float)
        except (KeyError, ValueError, TypeError) as error:
            raise _reject("an array needs real and imaginary number lists") from error
    if kind == "sampleset":
        import dimod

        if model is None:
            raise _reject("a sample set needs the key's model")
        try:
            samples = (payload["samples"], payload["variables"])
            return dimod.SampleSet.from_samples_bqm(
                samples, model, num_occurrences=payload["num_occurrences"])
        except (KeyError, ValueError, TypeError) as error:
            raise _reject("a sample set needs samples, variables and occurrences") from error
    if kind == "conflict":
        raise _reject("the answer was exported more than once")
    raise _reject(f"unknown answer type {kind!r}")


def _circuit_equivalent(answer: Any, expected: Any, **options: Any) -> None:
    from grader.circuits import assert_circuit_equivalent
    assert_circuit_equivalent(answer, expected, **options)


def _resources(answer: Any, expected: Any, **options: Any) -> None:
    from grader.resources import assert_resources, score_resources
    if "bands" in options:
        score_resources(answer, {k: [tuple(b) for b in v] for k, v in options.pop("bands").items()},
                        **options)
    else:
        assert_resources(answer, **options)


def _observable_equivalent(answer: Any, expected: Any, **options: Any) -> None:
    from grader.states import assert_observable_equivalent

    def pairs(value: Any) -> Any:
        # (label, coefficient) pairs arrive as JSON lists.
        if isinstance(value, list) and all(isinstance(t, list) and len(t) == 2 for t in value):
            return [tuple(t) for t in value]
        return value

    assert_observable_equivalent(pairs(answer), pairs(expected), **options)


def _lazy(module: str, name: str) -> Callable[..., None]:
    def run(answer: Any, expected: Any, **options: Any) -> None:
        from importlib import import_module
        getattr(import_module(module), name)(answer, expected, **options)
    return run


#: Check names a key may use, and what each runs.
CHECKS: dict[str, Callable[..., None]] = {
    "circuit_equivalent": _circuit_equivalent,
    "state_close": _lazy("grader.states", "assert_state_close"),
    "bloch_vector": _lazy("grader.states", "assert_bloch_vector"),
    "distribution": _lazy("grader.distributions", "assert_distribution"),
    "resources": _resources,
    "gate_set": _lazy("grader.resources", "assert_gate_set"),
    "observable_equivalent": _observable_equivalent,
    "bqm_equivalent": _lazy("grader.optimisation", "assert_bqm_equivalent"),
    "feasible": _lazy("grader.optimisation", "assert_feasible"),
    "optimal": _lazy("grader.optimisation", "assert_optimal"),
    "success_probability": _lazy("grader.optimisation", "assert_success_probability"),
    "number": _lazy("grader.answers", "assert_number"),
    "answer": _lazy("grader.answers", "assert_answer"),
}


def key_item(answer: str, check: str, expected: Any, points: float, *, cell: str | None = None,
             limits: Mapping[str, int] | None = None, **options: Any) -> dict[str, Any]:
    """Return one key item, encoding ``expected`` like an answer.

    Args:
        cell: The test cell (nbgrader ``grade_id``) whose score this item decides when
            ``qcampus grade`` scores by verdict; default: the answer's name.
        limits: The most ``qubits`` and ``gates`` a learner's circuit may have for
            this item; default: :data:`DEFAULT_LIMITS`.

    Raises:
        KeyError: ``check`` is not in :data:`CHECKS`.
    """
    if check not in CHECKS:
        raise KeyError(f"unknown check {check!r}; known: {sorted(CHECKS)}")
    item = {"answer": answer, "check": check, "points": points,
            "expected": encode_answer(expected), "options": options}
    if cell is not None:
        item["cell"] = cell
    if limits is not None:
        item["limits"] = dict(limits)
        item_limits(item)
    return item


def item_limits(item: Mapping[str, Any]) -> dict[str, int]:
    """Return the size limits a key item holds a learner's circuit to.

    Raises:
        InvalidCheckError: the item's ``limits`` are not positive whole numbers of
            qubits and gates.
    """
    own = item.get("limits", {})
    if not isinstance(own, Mapping) or set(own) - set(DEFAULT_LIMITS) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in own.values()):
        raise InvalidCheckError(
            f"the limits of answer {item.get('answer')!r} must map {' and '.join(DEFAULT_LIMITS)} "
            f"to positive whole numbers, not {own!r}")
    return {**DEFAULT_LIMITS, **own}


def check_size(name: str, answer: Any, limits: Mapping[str, int]) -> None:
    """Refuse a circuit or observable over *limits* before any check works on it.

    Raises:
        CheckFailed: the circuit has more qubits or gates than allowed, or the
            observable more qubits; the feedback names the limit.
    """
    kind = type(answer).__name__
    if kind == "SparsePauliOp" and answer.num_qubits > limits["qubits"]:
        raise CheckFailed(Feedback(_WIDE_OBSERVABLE, hint=_SMALLER_HINT, values={
            "name": name, "found": answer.num_qubits, "limit": limits["qubits"]}))
    if kind != "QuantumCircuit":
        return
    found = {"qubits": answer.num_qubits, "gates": answer.size()}
    for what, count in found.items():
        if count > limits[what]:
            raise CheckFailed(Feedback(_TOO_MANY[what], hint=_SMALLER_HINT, values={
                "name": name, "found": count, "limit": limits[what]}))


def decide(key: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, Any]:
    """Return the verdict of every key item on the exported answers.

    Args:
        key: The instructor's key (see the module docstring).
        answers: Exported payloads by answer name.

    Returns:
        ``{"items": [{"answer", "points", "max_points", "feedback": {"en", "ja"}}],
        "score", "max_score"}``.
    """
    results = []
    for item in key["items"]:
        name, points = item["answer"], float(item["points"])
        limits = item_limits(item)
        expected = decode(item["expected"])
        feedback = None
        earned = 0.0
        try:
            if name not in answers:
                raise CheckFailed(Feedback(_NO_ANSWER, hint=_BAD_HINT, values={"name": name}))
            model = expected if item["check"] in ("optimal", "success_probability") else None
            try:
                answer = decode(answers[name], model)
            except AnswerFormatError as error:
                raise CheckFailed(Feedback(_BAD_ANSWER, hint=_BAD_HINT,
                                           values={"name": name, "reason": error})) from error
            check_size(name, answer, limits)
            CHECKS[item["check"]](answer, expected, **dict(item.get("options", {})))
            earned = points
        except CheckFailed as failure:
            earned = points * min(max(failure.score, 0.0), 1.0)
            feedback = failure.feedback.to_json()
        except GraderError:
            raise  # an instructor's key error: stop, never score it
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as error:
            # Well-formed JSON of the wrong shape for this check (a list where a
            # sample belongs, say): the answer is unreadable, so it earns 0.
            feedback = Feedback(_BAD_ANSWER, hint=_BAD_HINT, values={
                "name": name, "reason": f"{type(error).__name__}: {error}"}).to_json()
        results.append({"answer": name, "points": earned, "max_points": points,
                        "feedback": feedback})
    return {"items": results, "score": sum(r["points"] for r in results),
            "max_score": sum(r["max_points"] for r in results)}


def _read_json(path: Path, cap: int) -> Any:
    with path.open("rb") as stream:
        data = stream.read(cap + 1)
    if len(data) > cap:
        raise AnswerFormatError(f"{path} is over {cap} bytes")
    return json.loads(data)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the verdict of ``KEY.json`` on ``ANSWERS.json`` as JSON; return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -I -m grader.verdict KEY.json ANSWERS.json", file=sys.stderr)
        return 2
    key = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    answers = _read_json(Path(args[1]), MAX_ANSWERS_BYTES)
    if not isinstance(answers, Mapping):
        raise AnswerFormatError("the answers document must be a JSON object")
    print(json.dumps(decide(key, answers), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
