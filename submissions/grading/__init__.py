"""The grading service: every submission queued, graded in the sandbox, feedback released.

- :mod:`~submissions.grading.models`: ``GradingJob``, one row per grading; the
  source of truth in both queue modes.
- :mod:`~submissions.grading.queue`: enqueue (in the exchange's transaction),
  claim with a lease, heartbeat, finish, recover, regrade, send to Celery.
- :mod:`~submissions.grading.pipeline`: place one submission in the course
  directory and autograde it with the ``qcampus grade`` machinery.
- :mod:`~submissions.grading.feedback`: feedback pages without hidden tests,
  released on submit, after the deadline, or by the instructor.
- :mod:`~submissions.grading.worker`: one job's life in a child process.
- :mod:`~submissions.grading.service`: the supervisor (``python -m
  submissions.grading``): embedded workers and the sweep.
- :mod:`~submissions.grading.celery_app`: the Celery task for workers on any machine.
"""
