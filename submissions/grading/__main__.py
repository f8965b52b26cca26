"""``python -m submissions.grading``: run the grading service (``qcampus grading serve``)."""

import sys

from submissions.grading.cli import grading

if __name__ == "__main__":
    grading(["serve", *sys.argv[1:]], prog_name="python -m submissions.grading")
