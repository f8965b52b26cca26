"""Demo accounts and sample assignments for ``qcampus up --demo``.

The accounts are enrolled like any roster and get random first passwords
through the deployment's authenticator (:func:`hub_config.authenticator.for_deployment`),
which alone knows how passwords are stored. The passwords are written once to
``secrets/demo-accounts.txt`` (0600) and never changed by a later run.
"""

from __future__ import annotations

import os
import secrets

from hub_config.authenticator import for_deployment
from qcampus import courses as courses_mod
from qcampus import roster
from qcampus.settings import Settings

DEMO_INSTRUCTOR = "instructor"
#: Watches exam attempts, extends time and voids attempts (the examiners group).
DEMO_EXAMINER = "examiner"
DEMO_LEARNERS = ("learner1", "learner2", "learner3")
DEMO_ACCOUNTS_FILE = "demo-accounts.txt"


def prepare_demo(settings: Settings) -> list[tuple[str, str, str]]:
    """Enrol the demo accounts, set their passwords and release every sample assignment.

    Returns:
        (username, role, password) of the accounts created now; empty when they already existed.
    """
    tracks = courses_mod.load_tracks(settings.courses_source)
    track_ids = tuple(t.id for t in tracks)
    members = [roster.Member(DEMO_INSTRUCTOR, "instructor", ()),
               roster.Member(DEMO_EXAMINER, "examiner", ())]
    members += [roster.Member(name, "learner", track_ids) for name in DEMO_LEARNERS]
    roster.enrol(settings.home, members)
    authenticator = for_deployment(settings)
    created = []
    for member in members:
        password = secrets.token_urlsafe(9)
        if authenticator.preset_password(member.username, password):
            created.append((member.username, member.role, password))
    if created:
        path = settings.secrets / DEMO_ACCOUNTS_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            for username, role, password in created:
                handle.write(f"{username}\t{role}\t{password}\n")
        os.chmod(path, 0o600)
    for track in tracks:
        offered = courses_mod.released(settings, track)
        for assignment in track.assignments:
            if assignment.id not in offered:
                courses_mod.release(settings, track, assignment)
    return created


def summary(settings: Settings, created: list[tuple[str, str, str]]) -> str:
    """Return what ``qcampus up --demo`` tells the operator about the demo accounts."""
    accounts = settings.secrets / DEMO_ACCOUNTS_FILE
    return (f"Demo accounts: {DEMO_INSTRUCTOR} (instructor), {DEMO_EXAMINER} (examiner), "
            f"{', '.join(DEMO_LEARNERS)} (learners).\n"
            f"Their passwords are in {accounts} (readable by root only)"
            + ("; created now." if created else "; unchanged since the first demo run."))
