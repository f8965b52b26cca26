"""submissions: the exchange learners submit through, and the grading service behind it.

- :mod:`submissions.exchange`: nbgrader's fetch, submit, list, collect and
  feedback over HTTP to the qcampus service. The service records who submitted
  (the authenticated hub user) and when (its own clock), keeps every
  submission, and accepts only regular notebooks of the released names within
  size limits. Users' servers hold no shared directory they could rename,
  forge or link out of.
- :mod:`submissions.grading`: every new submission is queued and graded with
  the sandboxed ``grader`` machinery, in the embedded queue of one machine or
  by Celery workers on several; feedback is released at once, after the due
  date or by the instructor, as each assignment says.
"""
