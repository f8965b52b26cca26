"""Certification exams (検定): an item bank, a catalog of exams and the forms candidates sit.

- :mod:`exams.bank` — items, one YAML file each under ``bank/<domain>/``.
- :mod:`exams.generators` — the numbers of parametrised items and their keys.
- :mod:`exams.catalog` — exams, their blueprints, parts, scoring and cut scores.
- :mod:`exams.forms` — a candidate's form, drawn from a blueprint with a seed.
- :mod:`exams.scoring` — a Part A response scored against its key.
- :mod:`exams.validation` — everything checked at once (``qcampus exam validate``).
"""
