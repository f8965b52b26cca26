"""Write state vectors as kets a learner can read, such as ``0.707|00⟩ + 0.707|11⟩``.

Qiskit orders qubits little-endian: in ``|q_{n-1} … q_1 q_0⟩`` qubit 0 is the
rightmost bit. Every ket the grader prints follows that convention.
"""

from __future__ import annotations

import numpy as np

#: Amplitudes smaller than this are left out of a written ket.
NEGLIGIBLE = 1e-6


def basis_label(index: int, num_qubits: int) -> str:
    """Return ``|b_{n-1} … b_0⟩`` for a computational-basis index."""
    return "|" + format(index, f"0{num_qubits}b") + "⟩" if num_qubits else "|⟩"


def _amplitude(value: complex) -> str:
    re, im = float(np.real(value)), float(np.imag(value))
    if abs(im) < NEGLIGIBLE:
        return f"{re:.3g}"
    if abs(re) < NEGLIGIBLE:
        return f"{im:.3g}j"
    return f"({re:.3g}{im:+.3g}j)"


def write_ket(vector: np.ndarray, num_qubits: int, terms: int = 4) -> str:
    """Return the largest ``terms`` amplitudes of ``vector`` as a sum of kets.

    Args:
        vector: Amplitudes in Qiskit's little-endian basis order.
        num_qubits: Number of qubits the vector describes.
        terms: How many of the largest terms to show; the rest become ``…``.

    Returns:
        Text such as ``0.707|00⟩ + 0.707|11⟩`` or ``0.707|0⟩ − 0.707j|1⟩``, or
        ``0`` for the zero vector.
    """
    vector = np.asarray(vector)
    order = np.argsort(-np.abs(vector), kind="stable")
    shown = [int(i) for i in order[:terms] if abs(vector[i]) >= NEGLIGIBLE]
    if not shown:
        return "0"
    shown.sort()
    text = ""
    for i in shown:
        term = f"{_amplitude(vector[i])}{basis_label(i, num_qubits)}"
        if text:
            text += f" − {term[1:]}" if term.startswith("-") else f" + {term}"
        else:
            text = term
    rest = int(np.count_nonzero(np.abs(vector) >= NEGLIGIBLE)) - len(shown)
    return text + (" + …" if rest > 0 else "")
