"""Sandboxed notebook runs: IPython semantics, isolation, limits and hostile code."""

from __future__ import annotations

import dataclasses
import os
import pwd
import resource
import uuid

import pytest

from grader.errors import SandboxUnavailableError
from grader.sandbox.runner import DIED, OK, OUTPUT_LIMIT, RESOURCE_LIMIT, TIMEOUT, Sandbox
from grader.sandbox.users import user_name
from tests.grader.sandbox.conftest import LIMITS, SLOT

pytestmark = pytest.mark.sandbox


def text_of(cell) -> str:
    """Return every stream text and error line of a cell run, joined."""
    parts = []
    for output in cell.outputs:
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif output["output_type"] == "error":
            parts.append(f"{output['ename']}: {output['evalue']}")
        else:
            parts.append(str(output["data"]))
    return "\n".join(parts)


def errors_of(cell) -> list[str]:
    """Return the names of a cell run's error outputs."""
    return [o["ename"] for o in cell.outputs if o["output_type"] == "error"]


def test_ipython_semantics(sandbox):
    """Cells share state and get streams, execute_result, display_data, magics and tracebacks."""
    run = sandbox.run([
        "x = 20\nprint('hello')",
        "x + 22",
        "from IPython.display import display, HTML\ndisplay(HTML('<b>hi</b>'))",
        "%time y = 1",
        "1/0",
        "print(y)",
    ])
    assert run.status == OK
    first, value, display, magic, error, after = run.cells
    assert first.outputs == [{"output_type": "stream", "name": "stdout", "text": "hello\n"}]
    assert value.outputs[0]["output_type"] == "execute_result"
    assert value.outputs[0]["data"]["text/plain"] == "42"
    assert value.execution_count == 2
    assert display.outputs[0]["data"]["text/html"] == "<b>hi</b>"
    assert "Wall time" in text_of(magic)
    assert errors_of(error) == ["ZeroDivisionError"]
    assert text_of(after).strip() == "1"


def test_runs_as_sandbox_user_in_own_namespaces(sandbox):
    """Learner code runs as the unprivileged sandbox user, as PID 1 of a new namespace."""
    run = sandbox.run(["import os\nprint(os.getuid(), os.getgid(), os.getpid(), os.getcwd())"])
    uid, gid, pid, cwd = text_of(run.cells[0]).split()
    assert int(uid) == pwd.getpwnam(user_name(SLOT)).pw_uid != 0
    assert int(pid) == 1
    assert cwd == "/work"


def test_environment_is_cleared(sandbox, monkeypatch):
    """The grader's environment, NBGRADER_EXECUTION included, does not reach learner code."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setenv("QCAMPUS_SECRET", "s3cret")
    run = sandbox.run(["import os\nprint(sorted(os.environ))"])
    assert "NBGRADER_EXECUTION" not in text_of(run.cells[0])
    assert "QCAMPUS_SECRET" not in text_of(run.cells[0])


def test_host_files_are_invisible(sandbox, tmp_path):
    """/etc/shadow, the grader's files and the repository do not exist inside the sandbox."""
    secret = tmp_path / "answer-key.txt"
    secret.write_text("the answer is 42")
    run = sandbox.run([
        "import os",
        f"for p in ['/etc/shadow', {str(secret)!r}, {os.getcwd()!r}, '/root']:\n"
        "    print(p, os.path.exists(p))",
        "open('/etc/shadow').read()",
    ])
    assert "True" not in text_of(run.cells[1])
    assert errors_of(run.cells[2]) == ["FileNotFoundError"]


def test_workdir_is_a_copy_without_notebooks(sandbox, tmp_path):
    """The sandbox sees the work dir's data files but not its notebooks, and writes stay inside."""
    (tmp_path / "data.csv").write_text("1,2,3\n")
    (tmp_path / "ps1.ipynb").write_text("{\"hidden\": \"tests\"}")
    run = sandbox.run([
        "import os\nprint(sorted(os.listdir('.')))\nprint(open('data.csv').read())",
        "open('data.csv', 'w').write('changed')\nopen('new.txt', 'w').write('x')",
    ], workdir=str(tmp_path))
    assert "['data.csv']" in text_of(run.cells[0])
    assert "1,2,3" in text_of(run.cells[0])
    assert (tmp_path / "data.csv").read_text() == "1,2,3\n"
    assert not (tmp_path / "new.txt").exists()


def test_links_and_special_files_in_workdir_are_not_copied(sandbox, tmp_path_factory):
    """A link to a root-only file or folder, or a FIFO, is skipped and reported, never read."""
    private = tmp_path_factory.mktemp("private")
    os.chmod(private, 0o700)
    secret = f"root-only-{uuid.uuid4().hex}"
    (private / "key.txt").write_text(secret)
    os.chmod(private / "key.txt", 0o600)
    work = tmp_path_factory.mktemp("work")
    (work / "data.csv").write_text("1,2,3\n")
    (work / "sub").mkdir()
    (work / "sub" / "inner.txt").write_text("inner\n")
    (work / "sub" / "key.txt").symlink_to(private / "key.txt")
    (work / "keys").symlink_to(private, target_is_directory=True)
    os.mkfifo(work / "pipe")
    run = sandbox.run([
        "import os\nfor d, _, fs in sorted(os.walk('.')):\n    print(d, sorted(fs))",
        "for p in ('sub/key.txt', 'keys/key.txt', 'pipe'):\n"
        "    try:\n        print(open(p).read())\n    except OSError as e:\n"
        "        print(p, type(e).__name__)",
    ], workdir=str(work))
    listing, reads = text_of(run.cells[0]), text_of(run.cells[1])
    assert ". ['data.csv']" in listing and "./sub ['inner.txt']" in listing
    assert secret not in listing + reads
    assert reads.count("FileNotFoundError") == 3
    assert sorted(run.skipped) == ["keys", "pipe", "sub/key.txt"]


def test_no_network_even_loopback(sandbox):
    """Connections to loopback and to an outside address fail at once: there is no route."""
    run = sandbox.run([
        "import socket\n"
        "for host in ('127.0.0.1', '10.255.255.1'):\n"
        "    s = socket.socket(); s.settimeout(2)\n"
        "    try:\n"
        "        s.connect((host, 80)); print(host, 'connected')\n"
        "    except OSError as e:\n"
        "        print(host, e.errno)\n",
    ])
    text = text_of(run.cells[0])
    assert "connected" not in text
    assert "127.0.0.1 101" in text and "10.255.255.1 101" in text


@pytest.mark.slow
def test_infinite_loop_times_out_and_later_cells_fail(sandbox):
    """``while True: pass`` is stopped with 'time limit exceeded'; later cells get an error."""
    run = sandbox.run(["while True: pass", "print('after')"])
    assert run.status == TIMEOUT
    assert "time limit exceeded" in run.reason
    assert errors_of(run.cells[0]) == ["CellTimeoutError"]
    assert errors_of(run.cells[1]) == ["CellNotExecuted"]


@pytest.mark.slow
def test_sleep_is_a_wall_clock_timeout(sandbox):
    """``time.sleep(10**6)`` ends as TIMEOUT, never as a result."""
    run = sandbox.run(["import time\ntime.sleep(10**6)"])
    assert run.status == TIMEOUT


@pytest.mark.slow
def test_cpu_limit_stops_a_notebook_before_its_wall_clock(sandbox):
    """A notebook past its CPU seconds is stopped as a resource limit that names them."""
    limits = dataclasses.replace(LIMITS, cell_timeout=60, notebook_timeout=60, cpu_seconds=1)
    run = sandbox.run(["while True: pass", "print('after')"], limits=limits)
    assert run.status == RESOURCE_LIMIT
    assert "more than 1 s of CPU time" in run.reason
    assert errors_of(run.cells[0]) == ["ResourceLimitExceeded"]
    assert errors_of(run.cells[1]) == ["CellNotExecuted"]


def test_memory_bomb_hits_the_limit(sandbox):
    """Allocating far past the memory limit raises MemoryError inside the sandbox only."""
    run = sandbox.run(["x = bytearray(8 * 1024**3)", "print('still here')"])
    assert errors_of(run.cells[0]) == ["MemoryError"]
    assert "still here" in text_of(run.cells[1])


@pytest.mark.slow
def test_fork_bomb_is_capped_and_leaves_nothing(sandbox, uid_processes):
    """A fork bomb gets EAGAIN at the process limit and no process of the sandbox user remains."""
    uid = pwd.getpwnam(user_name(SLOT)).pw_uid
    run = sandbox.run([
        "import os, time\n"
        "pids = []\n"
        "try:\n"
        "    while True:\n"
        "        pid = os.fork()\n"
        "        if pid == 0:\n"
        "            time.sleep(10**6)\n"
        "        pids.append(pid)\n"
        "except OSError as e:\n"
        "    print('blocked', e.errno, len(pids))\n",
    ])
    assert "blocked 11" in text_of(run.cells[0])
    assert uid_processes(uid) == []


def test_detached_grandchild_does_not_survive(sandbox, uid_processes):
    """A ``setsid`` grandchild holding the output pipe dies with the sandbox."""
    uid = pwd.getpwnam(user_name(SLOT)).pw_uid
    run = sandbox.run([
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(10**6)\n"
        "    os._exit(0)\n"
        "print('parent done')",
    ])
    assert run.status == OK
    assert uid_processes(uid) == []


@pytest.mark.parametrize("exit_code", ["os._exit(0)", "import ctypes\nctypes.string_at(0)"])
def test_early_exit_fails_the_remaining_cells(sandbox, exit_code):
    """A process that ends before the tests leaves every later cell with an error output."""
    run = sandbox.run(["import os", exit_code, "assert True"])
    assert run.status == DIED
    assert errors_of(run.cells[1]) == ["KernelDied"]
    assert errors_of(run.cells[2]) == ["CellNotExecuted"]


def test_sys_exit_is_an_error_output(sandbox):
    """``sys.exit()`` shows as a SystemExit error, as in Jupyter, and the next cell still runs."""
    run = sandbox.run(["import sys\nsys.exit()", "print('next')"])
    assert errors_of(run.cells[0]) == ["SystemExit"]
    assert "next" in text_of(run.cells[1])


def test_killing_the_parent_does_not_reach_the_grader(sandbox):
    """``os.kill(os.getppid(), 9)`` cannot kill the grader; the grader keeps working."""
    run = sandbox.run(["import os\nos.kill(os.getppid(), 9)", "print('x')"])
    assert run.cells  # the grader is alive and returned a result
    assert sandbox.run(["print('again')"]).status == OK


def test_gigabyte_of_output_is_capped(sandbox):
    """Printing 1 GB brings at most the byte budget into the grader, marked truncated."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run = sandbox.run(["chunk = 'x' * (1 << 20)\nfor _ in range(1024):\n    print(chunk)"])
    size = sum(len(o.get("text", "")) for o in run.cells[0].outputs)
    assert size <= sandbox.limits.output_bytes
    assert run.truncated
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 50 * 1024


def test_huge_image_is_dropped(sandbox):
    """A 100 MB display output is replaced by a notice, within the budget."""
    run = sandbox.run([
        "from IPython.display import display\n"
        "display({'image/png': 'A' * (100 * 1024**2)}, raw=True)",
    ])
    assert run.status in (OK, OUTPUT_LIMIT)
    assert "over the grader's output limit" in text_of(run.cells[0])


def test_huge_file_is_refused(sandbox):
    """Writing past the file-size limit fails inside the sandbox; nothing reaches the host disk."""
    name = f"qcampus-escape-{uuid.uuid4().hex}"
    run = sandbox.run([
        f"with open('/tmp/{name}', 'wb') as f:\n"
        "    for _ in range(64):\n"
        "        f.write(b'x' * (1 << 20))",
    ])
    assert errors_of(run.cells[0]) in (["OSError"], ["FileTooLarge"], ["OSError", "OSError"])
    assert not os.path.exists(f"/tmp/{name}")


def test_refuses_without_root(sandbox_users, monkeypatch):
    """Without root the sandbox refuses and names the unsafe flag (euid faked: tests run as root)."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(SandboxUnavailableError, match="--unsafe-no-sandbox"):
        Sandbox()


def test_killing_the_grader_ends_the_sandbox(sandbox_users, uid_processes, tmp_path):
    """When the grading process is SIGKILLed mid-notebook, its sandbox does not live on."""
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "hold_notebook.py"
    script.write_text(
        "from grader.sandbox.runner import Sandbox\n"
        "from grader.sandbox.limits import Limits\n"
        f"box = Sandbox(Limits(cell_timeout=3600, notebook_timeout=3600), slot={SLOT + 1},"
        " preload=('numpy',))\n"
        "print('ready', flush=True)\n"
        "box.run(['import time\\ntime.sleep(10**6)'])\n")
    with subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                          text=True) as grader:
        assert grader.stdout.readline() == "ready\n"
        uid = pwd.getpwnam(user_name(SLOT + 1)).pw_uid
        while not uid_processes(uid):  # the notebook is running as the sandbox user
            time.sleep(0.05)
        grader.send_signal(signal.SIGKILL)
        grader.wait()
    deadline = time.monotonic() + 60  # generous: only that it ends, not how fast
    while uid_processes(uid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert uid_processes(uid) == []


def test_silenced_tracebacks_still_fail(sandbox):
    """Replacing IPython's showtraceback does not turn a failing cell into a passing one."""
    run = sandbox.run([
        "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
        "ip._showtraceback = lambda *a, **k: None",
        "assert 1 == 2",
    ])
    assert errors_of(run.cells[1]) == ["AssertionError"]


def test_input_fails_at_once(sandbox):
    """``input()`` has no terminal: it raises at once instead of waiting for the clock."""
    run = sandbox.run(["input('answer? ')"])
    assert len(errors_of(run.cells[0])) == 1


def test_dead_zygote_is_replaced(sandbox):
    """If the zygote is killed between notebooks, the next notebook still runs."""
    import signal

    os.kill(sandbox.zygote.pid, signal.SIGKILL)
    run = sandbox.run(["print('after')"])
    assert run.status == OK
    assert text_of(run.cells[0]).strip() == "after"


def test_modules_outside_the_preload_import_under_a_private_umask(sandbox_users):
    """A grader started under umask 077 (as hub services are) still lets learner code import any module."""
    from grader.sandbox.runner import Sandbox

    old = os.umask(0o077)
    try:
        with Sandbox(LIMITS, slot=SLOT + 1, preload=("numpy",)) as box:
            # yaml lives in the venv's site-packages (under /opt) and is never preloaded here.
            run = box.run(["import yaml\nprint('imported')"])
    finally:
        os.umask(old)
    assert run.cells[0].outputs == [{"output_type": "stream", "name": "stdout", "text": "imported\n"}]



def test_figures_draw_with_the_preloaded_pyplot_on_agg(sandbox_users):
    """Lessons draw with pyplot: preloaded in the zygote, it draws on Agg, with no cache to build."""
    from grader.sandbox.runner import Sandbox

    with Sandbox(LIMITS, slot=SLOT + 1, preload=("numpy", "matplotlib.pyplot")) as box:
        run = box.run(["import sys\nprint('matplotlib' in sys.modules)",
                       "import io\nimport matplotlib\nimport matplotlib.pyplot as plt\n"
                       "fig, ax = plt.subplots()\nax.plot([0, 1], [1, 0])\nax.set_title('Bloch')\n"
                       "buffer = io.BytesIO()\nfig.savefig(buffer, format='png')\n"
                       "print(matplotlib.get_backend(), buffer.getvalue()[:4])"])
    assert run.status == OK, run
    assert text_of(run.cells[0]).strip() == "True"
    # No "Matplotlib created a temporary cache directory" (nor any other) warning on stderr.
    assert run.cells[1].outputs == [{"output_type": "stream", "name": "stdout",
                                     "text": "agg b'\\x89PNG'\n"}], run.cells[1].outputs
