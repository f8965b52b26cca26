"""Parameter generators: the numbers of parametrised items, drawn from a seed, and their keys.

An item that writes ``parameters: <name>`` is rendered with the parameters the
generator ``<name>`` draws for the candidate's seed (``{theta}`` in its prompt
and options), and scored against the key the generator computes for them. Each
generator also proves its key another way (:meth:`Generator.check`: a
simulation against a closed form, a brute force against a formula), which
``qcampus exam validate`` runs for many seeds, so a wrong key is found before
any candidate meets it.

Write one module per domain in this package; a subclass with a ``name``
registers itself::

    class RyProbability(Generator):
        name = "ry-probability"

        def draw(self, rng):
            return {"theta": rng.choice([30, 60, 90, 120, 150])}

        def key(self, p):
            return {"value": math.sin(math.radians(p["theta"]) / 2) ** 2, "tolerance": 0.005}

        def check(self, p, key):
            state = Statevector(QuantumCircuit(1).compose(RYGate(math.radians(p["theta"]))))
            assert abs(state.probabilities()[1] - key["value"]) < 1e-9
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import random
from typing import Any, ClassVar

from exams.errors import BankError

#: Every generator by name, filled when the package's modules are imported (:func:`registry`).
GENERATORS: dict[str, Generator] = {}


class Generator:
    """Draws an item's parameters from a seed and computes its key; a subclass registers itself.

    ``name`` is what items write in ``parameters``. Parameters are JSON values
    (numbers, strings, lists) as the prompt shows them: round what you draw to
    what the candidate reads, and compute the key from those rounded values.
    """

    name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            if cls.name in GENERATORS:
                raise BankError(f"two generators are named {cls.name!r}: "
                                f"{type(GENERATORS[cls.name]).__module__} and {cls.__module__}")
            GENERATORS[cls.name] = cls()

    def draw(self, rng: random.Random) -> dict[str, Any]:
        """Return the parameters for one candidate, drawn with *rng* only."""
        raise NotImplementedError

    def key(self, params: dict[str, Any]) -> Any:
        """Return the key for *params*, in the form the item's type takes (see item.schema.yaml)."""
        raise NotImplementedError

    def check(self, params: dict[str, Any], key: Any) -> None:
        """Raise AssertionError unless *key* is right for *params*, shown another way than :meth:`key`."""
        raise NotImplementedError


@functools.cache
def _import_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def registry() -> dict[str, Generator]:
    """Import every module of this package once and return the generators by name."""
    _import_all()
    return GENERATORS


def parameters(name: str, seed: int) -> dict[str, Any]:
    """Return the parameters generator *name* draws for *seed* (the same every time)."""
    generators = registry()
    if name not in generators:
        raise BankError(f"there is no generator {name!r}; known: {', '.join(sorted(generators))}")
    return generators[name].draw(random.Random(seed))
