"""Attacks on the sandbox through system calls a notebook never needs.

Each test runs the attack in a real sandbox (a system user, namespaces, rlimits)
and states what must hold afterwards. The module-wide ``sandbox`` fixture limits
memory to 256 MiB and files to 4 MiB.
"""

from __future__ import annotations

import dataclasses
import errno
import platform
import uuid

import pytest

from grader.sandbox.limits import MiB
from grader.sandbox.runner import OK
from tests.grader.sandbox.conftest import LIMITS
from tests.grader.sandbox.test_runner import errors_of, text_of

pytestmark = [pytest.mark.sandbox, pytest.mark.skipif(
    platform.machine() != "x86_64", reason="the attacks use x86_64 system call numbers")]

#: Calls a cell makes through libc directly, so Python's wrappers decide nothing.
LIBC = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"


def completed_text(run) -> str:
    """Return the first cell's text of a run that must have completed normally."""
    assert run.status == OK, run.reason
    return text_of(run.cells[0])


def test_memfd_buffers_cannot_hold_memory_past_the_limit(sandbox):
    """Anonymous memory files (``memfd_create``) are refused, so they cannot hold 512 MiB."""
    target = 2 * LIMITS.memory_bytes
    run = sandbox.run([LIBC + (
        "held, fds = 0, []\n"
        f"chunk = b'x' * {LIMITS.file_bytes}\n"
        "try:\n"
        f"    while held < {target}:\n"
        "        fd = libc.memfd_create(b'hoard', 0)\n"
        "        if fd < 0:\n"
        "            raise OSError(ctypes.get_errno(), 'memfd_create')\n"
        "        fds.append(fd)\n"
        "        os.write(fd, chunk)\n"
        "        held += len(chunk)\n"
        "except OSError as e:\n"
        "    print('refused', e.errno)\n"
        "print('held', held)\n"
        "for fd in fds:\n"
        "    os.close(fd)\n")])
    text = completed_text(run)
    assert f"refused {errno.EPERM}" in text
    assert "held 0" in text


def test_socket_buffers_cannot_hold_memory_past_the_limit(sandbox):
    """Socket buffers cannot be enlarged (SO_SNDBUF), so socket pairs hold far less than 512 MiB."""
    target = 2 * LIMITS.memory_bytes
    run = sandbox.run([(
        "import socket\n"
        "held, pairs, refused = 0, [], []\n"
        "chunk = b'x' * (1 << 16)\n"
        f"while held < {target} and len(pairs) < 120:\n"
        "    a, b = socket.socketpair()\n"
        "    pairs.append((a, b))\n"
        "    for end, option in ((a, socket.SO_SNDBUF), (b, socket.SO_RCVBUF)):\n"
        "        try:\n"
        "            end.setsockopt(socket.SOL_SOCKET, option, 64 << 20)\n"
        "        except OSError as e:\n"
        "            refused.append(e.errno)\n"
        "    a.setblocking(False)\n"
        "    try:\n"
        "        while held < " + str(target) + ":\n"
        "            held += a.send(chunk)\n"
        "    except BlockingIOError:\n"
        "        pass\n"
        "print('refused', sorted(set(refused)))\n"
        "print('held', held)\n")])
    text = completed_text(run)
    assert f"refused [{errno.EPERM}]" in text
    held = int(text.split("held ")[1].split()[0])
    assert held < LIMITS.memory_bytes


@pytest.mark.parametrize("how", ["unshare", "clone"])
def test_no_nested_user_namespace_or_tmpfs_mount(sandbox, how):
    """A new user namespace (by unshare or by clone) is refused, so no tmpfs can be mounted."""
    clone_newuser, clone_newns, sigchld = 0x10000000, 0x00020000, 17
    enter = {
        "unshare": f"rc = libc.unshare({clone_newuser | clone_newns})\n",
        # A raw clone with a namespace flag; the child only reports and leaves.
        "clone": (f"rc = libc.syscall(56, {clone_newuser | clone_newns | sigchld}, 0, 0, 0, 0)\n"
                  "if rc == 0:\n"
                  "    os._exit(0 if libc.mount(b'big', b'/tmp', b'tmpfs', 0, b'size=100g') == 0 "
                  "else 3)\n"
                  "if rc > 0:\n"
                  "    rc = 0 if os.waitstatus_to_exitcode(os.waitpid(rc, 0)[1]) == 0 else -1\n"),
    }[how]
    run = sandbox.run([LIBC + enter + (
        "err = ctypes.get_errno()\n"
        "print('entered' if rc == 0 else f'refused {err}')\n"
        "if rc == 0 and libc.mount(b'big', b'/tmp', b'tmpfs', 0, b'size=100g') == 0:\n"
        "    print('mounted', os.statvfs('/tmp').f_blocks * os.statvfs('/tmp').f_frsize)\n")])
    text = completed_text(run)
    assert "entered" not in text and "mounted" not in text
    assert f"refused {errno.EPERM}" in text


def test_mount_is_refused_even_where_it_would_be_allowed(sandbox):
    """``mount`` fails with EPERM from the filter, not only for lack of privilege."""
    run = sandbox.run([LIBC + (
        "rc = libc.mount(b'big', b'/tmp', b'tmpfs', 0, b'size=100g')\n"
        "print('rc', rc, ctypes.get_errno())\n")])
    assert f"rc -1 {errno.EPERM}" in text_of(run.cells[0])


@pytest.mark.parametrize("call", [
    # keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0)
    "libc.syscall(250, 0, -3, 0)",
    # ptrace(PTRACE_TRACEME)
    "libc.ptrace(0, 0, 0, 0)",
    # bpf(BPF_PROG_LOAD, NULL, 0)
    "libc.syscall(321, 5, 0, 0)",
    # perf_event_open(NULL, 0, -1, -1, 0)
    "libc.syscall(298, 0, 0, -1, -1, 0)",
    # userfaultfd(0)
    "libc.syscall(323, 0)",
    # setns(0, 0)
    "libc.setns(0, 0)",
    # io_uring_setup(1, NULL)
    "libc.syscall(425, 1, 0)",
    # shmget(IPC_PRIVATE, 1 MiB, IPC_CREAT | 0600): System V memory outlives the mapping
    "libc.shmget(0, 1 << 20, 0o1600)",
    # memfd_create through the x32 ABI: another ABI's numbers cannot sidestep the rules
    "libc.syscall(0x40000000 | 319, b'x32', 0)",
])
def test_calls_a_notebook_never_needs_fail_with_eperm(sandbox, call):
    """Each denied call returns -1 with EPERM: a clear Python error, not a killed notebook."""
    run = sandbox.run([LIBC + f"rc = {call}\nprint('rc', rc, ctypes.get_errno())\n",
                       "print('alive')"])
    assert run.status == OK
    assert f"rc -1 {errno.EPERM}" in text_of(run.cells[0])
    assert "alive" in text_of(run.cells[1])


def test_a_32_bit_system_call_is_refused(sandbox):
    """memfd_create through ``int 0x80`` (the i386 ABI, which this kernel runs) fails with EPERM."""
    run = sandbox.run([(
        "import ctypes, mmap\n"
        "# push rbx; mov eax, 356 (i386 memfd_create); xor ebx, ebx; xor ecx, ecx; int 0x80;\n"
        "# pop rbx; ret: the raw result, -errno (-14, EFAULT for the NULL name, if it ran)\n"
        "machine = bytes.fromhex('53b86401000031db31c9cd805bc3')\n"
        "page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE"
        " | mmap.PROT_EXEC)\n"
        "page.write(machine)\n"
        "address = ctypes.addressof(ctypes.c_char.from_buffer(page))\n"
        "print('rc', ctypes.CFUNCTYPE(ctypes.c_int)(address)())\n")])
    assert f"rc {-errno.EPERM}" in completed_text(run)


def test_keyring_is_not_shared_between_notebooks(sandbox):
    """A key one notebook stores in its session or user keyring is not found by the next one."""
    name = f"qcampus-{uuid.uuid4().hex}".encode()
    secret = uuid.uuid4().hex
    # add_key("user", name, secret, len, keyring) into the session (-3) and user (-4) keyrings;
    # the next notebook, as the same sandbox user, looks in both with KEYCTL_SEARCH (10) and
    # reads what it finds with KEYCTL_READ (11).
    first = sandbox.run([LIBC + (
        "for ring in (-3, -4):\n"
        f"    rc = libc.syscall(248, b'user', {name!r}, {secret.encode()!r}, {len(secret)}, ring)\n"
        "    print(ring, 'stored' if rc > 0 else f'refused {ctypes.get_errno()}')\n")])
    second = sandbox.run([LIBC + (
        "for ring in (-3, -4):\n"
        f"    key = libc.syscall(250, 10, ring, b'user', {name!r}, 0)\n"
        "    if key > 0:\n"
        "        buf = ctypes.create_string_buffer(256)\n"
        "        n = libc.syscall(250, 11, key, buf, 256)\n"
        "        print(ring, 'found', buf.raw[:max(n, 0)].decode())\n"
        "    else:\n"
        "        print(ring, 'missing', ctypes.get_errno())\n")])
    assert first.status == second.status == OK
    assert " found" not in text_of(second.cells[0])
    assert secret not in text_of(second.cells[0])


def test_the_course_stack_still_runs(sandbox_users):
    """Qiskit Aer, NumPy, dimod and dwave-samplers work under the filter, threads and all."""
    from grader.sandbox.runner import Sandbox
    from tests.grader.sandbox.conftest import SLOT

    limits = dataclasses.replace(LIMITS, memory_bytes=1024 * MiB, cell_timeout=60,
                                 notebook_timeout=120)
    with Sandbox(limits, slot=SLOT + 1) as box:
        run = box.run([
            "import numpy as np, threading\n"
            "from qiskit import QuantumCircuit, transpile\n"
            "from qiskit_aer import AerSimulator\n"
            "qc = QuantumCircuit(2)\nqc.h(0)\nqc.cx(0, 1)\nqc.measure_all()\n"
            "sim = AerSimulator(seed_simulator=7)\n"
            "counts = sim.run(transpile(qc, sim), shots=200).result().get_counts()\n"
            "print(sorted(counts))",
            "import dimod\nfrom dwave.samplers import SimulatedAnnealingSampler\n"
            "bqm = dimod.BinaryQuadraticModel({'a': -1, 'b': -1}, {('a', 'b'): 2}, 0, 'BINARY')\n"
            "best = SimulatedAnnealingSampler().sample(bqm, num_reads=10, seed=1).first\n"
            "print(best.energy)",
            "t = threading.Thread(target=lambda: None)\nt.start()\nt.join()\n"
            "import subprocess\nprint(subprocess.run(['true']).returncode)\n"
            "print(np.linalg.eigvalsh(np.eye(3)).sum())",
        ])
    assert run.status == OK, run.reason
    assert errors_of(run.cells[0]) == errors_of(run.cells[1]) == errors_of(run.cells[2]) == []
    assert "['00', '11']" in text_of(run.cells[0])
    assert "-1.0" in text_of(run.cells[1])
    assert text_of(run.cells[2]).split() == ["0", "3.0"]
