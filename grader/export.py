"""Export a learner's answers as capped JSON, for grading outside the learner's process.

In the tamper-resistant mode a test cell only calls :func:`export_answer`; it
decides nothing. The answer leaves the kernel as a display output with the MIME
type :data:`MIME`, holding plain JSON:

- circuits as OpenQASM 3 text (``qiskit.qasm3.dumps`` after rewriting to the
  gates of ``stdgates.inc``) plus the global phase, which OpenQASM drops;
- binary quadratic models as dimod's ``to_serializable(use_bytes=False)`` form;
- sample sets as their samples and occurrence counts (energies are recomputed
  by the verdict, never taken from the learner);
- observables (``SparsePauliOp``, ``Pauli``) as their Pauli terms, each a list
  ``[label, real, imag]`` in Qiskit's label order (qubit 0 rightmost), e.g.
  ``[["ZZ", 1.0, 0.0], ["XI", 0.5, 0.0]]``; the verdict reads at most
  :data:`grader.verdict.MAX_CIRCUIT_QUBITS` qubits and
  :data:`grader.verdict.MAX_TERMS` terms, and an item's ``qubits`` limit applies;
- state vectors and density matrices as real and imaginary parts;
- numbers, text, counts and samples as JSON values.

Never pickle, never QPY: the trusted side parses only JSON and a whitelisted
subset of OpenQASM 3 (:mod:`grader.verdict`). Each answer is capped at
:data:`MAX_ANSWER_BYTES`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from grader.errors import ExportError

#: MIME type of an exported answer in a notebook output.
MIME = "application/vnd.qcampus.answer+json"
#: Largest exported answer, in bytes of JSON.
MAX_ANSWER_BYTES = 256 * 1024
#: Gates an exported circuit is rewritten to: ``stdgates.inc`` gates that
#: round-trip through OpenQASM 3 without losing a phase.
STANDARD_GATES = ("id", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "rx", "ry", "rz",
                  "p", "u", "cx", "cy", "cz", "ch", "cp", "crx", "cry", "crz", "cu", "swap",
                  "ccx", "cswap", "measure", "reset")


def _json_value(value: Any) -> Any:
    """Return ``value`` as plain JSON types, or raise :class:`ExportError`."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExportError(f"Your answer contains the number {value}, which JSON cannot hold: "
                              f"compute a finite value. / 解答に JSON で表せない数 {value} が含まれて"
                              f"います。有限の値を計算してください。")
        return value
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):  # NumPy scalar or array
        return _json_value(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_json_value(v) for v in items]
    raise ExportError(
        f"Your answer contains a {type(value).__name__}, which cannot be exported: give a circuit, "
        f"a model, a sample set, a state, or numbers, text, lists and dicts of them. / 解答に出力"
        f"できない {type(value).__name__} が含まれています。回路、モデル、SampleSet、状態、または数・"
        f"文字列とそのリストや dict を渡してください。")


def encode_answer(value: Any) -> dict[str, Any]:
    """Return the JSON payload of one answer.

    Args:
        value: A ``QuantumCircuit``, ``dimod`` BQM or ``SampleSet``,
            ``SparsePauliOp``/``Pauli``, ``Statevector``/``DensityMatrix``/complex
            array, or a JSON value
            (number, text, list, dict such as counts or a sample).

    Returns:
        A dict with a ``type`` key and plain JSON contents.

    Raises:
        ExportError: The value has no JSON form here.
    """
    kind = type(value).__name__
    module = type(value).__module__
    if kind == "QuantumCircuit":
        from qiskit import qasm3, transpile

        standard = transpile(value, basis_gates=list(STANDARD_GATES), optimization_level=0)
        return {"type": "circuit", "qasm": qasm3.dumps(standard),
                "global_phase": float(standard.global_phase)}
    if module.startswith("dimod") and kind == "BinaryQuadraticModel":
        return {"type": "bqm", "model": _json_value(value.to_serializable(use_bytes=False))}
    if module.startswith("dimod") and kind == "SampleSet":
        return {"type": "sampleset", "variables": _json_value(list(value.variables)),
                "samples": value.record.sample.tolist(),
                "num_occurrences": value.record.num_occurrences.tolist()}
    if kind in ("SparsePauliOp", "Pauli") and module.startswith("qiskit"):
        from qiskit.quantum_info import SparsePauliOp

        terms = SparsePauliOp(value).to_list()
        return {"type": "observable", "terms": [
            [label, _json_value(float(c.real)), _json_value(float(c.imag))] for label, c in terms]}
    # An array of numbers keeps its complex form; one of text or objects is exported as lists.
    numeric = kind == "ndarray" and value.dtype.kind in "biufc"
    if kind in ("Statevector", "DensityMatrix") or numeric:
        import numpy as np

        data = np.asarray(getattr(value, "data", value), dtype=complex)
        return {"type": "array", "real": data.real.tolist(), "imag": data.imag.tolist()}
    return {"type": "json", "value": _json_value(value)}


def answer_bundle(name: str, value: Any) -> dict[str, Any]:
    """Return the display bundle of one answer, checking the size cap.

    Raises:
        ExportError: The answer is over :data:`MAX_ANSWER_BYTES` or not exportable.
    """
    payload = {"name": str(name), "answer": encode_answer(value)}
    size = len(json.dumps(payload).encode())
    if size > MAX_ANSWER_BYTES:
        raise ExportError(f"Your answer {name!r} is {size} bytes; answers are capped at "
                          f"{MAX_ANSWER_BYTES} bytes: export the object the task asks for, not "
                          f"more. / 解答 {name!r} は {size} バイトですが、上限は {MAX_ANSWER_BYTES} "
                          f"バイトです。課題が求めるオブジェクトだけを出力してください。")
    return {MIME: payload,
            "text/plain": f"answer {name!r} recorded for grading / 採点用に解答 {name!r} を記録しました"}


def export_answer(name: str, value: Any) -> None:
    """Record a learner's answer for the trusted grader; decide nothing here.

    Args:
        name: The answer's name in the instructor's key.
        value: The answer (see :func:`encode_answer`).

    Raises:
        ExportError: The answer is over the cap or has no JSON form.
    """
    from IPython.display import display

    display(answer_bundle(name, value), raw=True)


def collect_answers(notebook: Mapping[str, Any],
                    grade_ids: Iterable[str] | None = None) -> dict[str, Any]:
    """Return the answers exported in a notebook's outputs, by name.

    Only outputs of cells whose nbgrader ``grade_id`` is in ``grade_ids`` are
    read, when given (the test cells, restored from the instructor's copy). An
    answer exported twice under one name is kept as ``{"type": "conflict"}``,
    which no check accepts. Nothing here executes or unpickles anything.

    Args:
        notebook: A notebook as parsed JSON (``nbformat`` node or dict).
        grade_ids: Test cells to read from.

    Returns:
        Payloads by answer name, each at most :data:`MAX_ANSWER_BYTES`.
    """
    wanted = set(grade_ids) if grade_ids is not None else None
    answers: dict[str, Any] = {}
    for cell in notebook.get("cells", []):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if wanted is not None and grade_id not in wanted:
            continue
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(MIME)
            if not isinstance(payload, Mapping) or not isinstance(payload.get("name"), str):
                continue
            if len(json.dumps(payload).encode()) > MAX_ANSWER_BYTES:
                payload = {"name": payload["name"], "answer": {"type": "oversized"}}
            name = payload["name"]
            answers[name] = {"type": "conflict"} if name in answers else payload.get("answer")
    return answers
