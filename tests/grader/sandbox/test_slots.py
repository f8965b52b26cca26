"""Sandbox slots: no two sandboxes on one machine run as the same sandbox user at once."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from grader.errors import SandboxUnavailableError
from grader.sandbox.runner import Sandbox
from grader.sandbox.slots import LOCKS, claim
from grader.sandbox.users import user_name
from tests.grader.sandbox.conftest import LIMITS, SLOT

#: Holds the slot given on its command line, says so, and waits to be killed.
HOLDER = """
import sys, time
from pathlib import Path
from grader.sandbox.slots import LOCKS, claim
slot = claim(int(sys.argv[1]), span=1, locks=Path(sys.argv[2]))
print(slot.number, flush=True)
time.sleep(3600)
"""


def open_files(pid: int) -> list[str]:
    """Return what the descriptors of process *pid* point to."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            found.append(os.readlink(fd))
        except FileNotFoundError:  # the descriptor of the listing itself
            continue
    return found


def test_slots_held_at_once_differ_and_a_released_one_is_taken_again(tmp_path):
    """Two claims from one slot get that slot and the next; once released, the first is free again."""
    first, second = claim(7, locks=tmp_path), claim(7, locks=tmp_path)
    assert (first.number, second.number) == (7, 8)
    first.release()
    first.release()  # twice is harmless
    again = claim(7, locks=tmp_path)
    assert again.number == 7
    again.release()
    second.release()


def test_a_slot_held_by_another_process_is_skipped_until_that_process_dies(tmp_path):
    """Another grading process's slot is not shared; it is free the moment that process is killed."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, "3", str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "3"
        mine = claim(3, locks=tmp_path)
        assert mine.number == 4
        mine.release()
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    mine = claim(3, locks=tmp_path)
    assert mine.number == 3
    mine.release()


def test_every_slot_held_is_a_clear_error(tmp_path):
    """When the whole span is taken, the error says so and what to do, and holds nothing."""
    held = [claim(0, span=2, locks=tmp_path) for _ in range(2)]
    with pytest.raises(SandboxUnavailableError, match="all 2 sandbox slots from 0 are in use.*fewer"):
        claim(0, span=2, locks=tmp_path)
    for slot in held:
        slot.release()
    assert claim(0, span=2, locks=tmp_path).number == 0


@pytest.mark.sandbox
def test_two_sandboxes_asking_for_one_slot_run_as_different_users(sandbox_users):
    """A second sandbox on a held slot runs as the next user; closing the first frees its slot.

    Before, both ran as one user and shared its process limit: one learner's fork bomb could
    fail another learner's notebook graded at the same moment.
    """
    whoami = ["import os\nprint(os.getuid())"]
    with Sandbox(LIMITS, slot=SLOT, preload=()) as first:
        with Sandbox(LIMITS, slot=SLOT, preload=()) as second:
            assert (first.slot.number, second.slot.number) == (SLOT, SLOT + 1)
            uids = [int(box.run(whoami).cells[0].outputs[0]["text"]) for box in (first, second)]
    assert uids == [pwd.getpwnam(user_name(SLOT)).pw_uid, pwd.getpwnam(user_name(SLOT + 1)).pw_uid]
    with Sandbox(LIMITS, slot=SLOT, preload=()) as third:
        assert third.slot.number == SLOT


@pytest.mark.sandbox
def test_the_slot_is_held_by_its_sandbox_alone_and_freed_when_its_grader_is_killed(sandbox_users):
    """The zygote keeps no copy of the slot's lock (it would hold the slot after its owner died)."""
    with Sandbox(LIMITS, slot=SLOT + 1, preload=()) as box:
        lock = str(LOCKS / f"{box.slot.number}.lock")
        assert lock in open_files(os.getpid())
        assert lock not in open_files(box.zygote.pid)
    script = ("import time\nfrom grader.sandbox.runner import Sandbox\n"
              "from tests.grader.sandbox.conftest import LIMITS\n"
              f"box = Sandbox(LIMITS, slot={SLOT + 1}, preload=())\n"
              "print(box.slot.number, flush=True)\ntime.sleep(3600)\n")
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) as grader:
        assert int(grader.stdout.readline()) == SLOT + 1
        grader.kill()
    with Sandbox(LIMITS, slot=SLOT + 1, preload=()) as box:
        assert box.slot.number == SLOT + 1
