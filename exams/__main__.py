"""``python -m exams``: the ``qcampus exam`` commands without the qcampus entry point."""

from exams.cli import exam

exam()
