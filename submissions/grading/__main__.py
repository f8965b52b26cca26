"""``python -m submissions.grading [--home DIR] [--lease-seconds S]``: run the grading service.

The same as ``qcampus grading --home DIR serve``; without ``--home`` the
deployment is ``$QCAMPUS_HOME`` (else ``./var``).
"""

import sys

from submissions.grading.cli import grading


def main(argv: list[str]) -> None:
    """Run ``grading serve``, moving ``--home`` in front, where the group takes it."""
    front = []
    for index, argument in enumerate(argv):
        if argument == "--home":
            front = argv[index:index + 2]
        elif argument.startswith("--home="):
            front = [argument]
    rest = [argument for argument in argv if argument not in front]
    grading([*front, "serve", *rest], prog_name="python -m submissions.grading")


if __name__ == "__main__":
    main(sys.argv[1:])
