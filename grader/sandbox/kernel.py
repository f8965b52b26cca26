"""The in-sandbox side: execute cells with IPython semantics, send nbformat outputs.

This code runs in the learner's process, so nothing here is trusted by the
grader: it only keeps honest notebooks within the output budget and turns
IPython's streams, displays, results and tracebacks into nbformat outputs.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import sys
from collections.abc import Callable, Container
from types import CodeType, FrameType, ModuleType, TracebackType

from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from traitlets import Instance
from traitlets.config import Config

from grader.sandbox import frames

#: Bytes kept back from the budget for framing and the truncation notices.
RESERVE = 16 * 1024
TRUNCATED = "\n[output truncated: over the grader's output limit]\n"


class Collector:
    """Collect one cell's outputs in order, within a byte budget."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.outputs: list[dict] = []
        self.truncated = False

    def _take(self, size: int) -> bool:
        if size > self.budget:
            self.truncated = True
            return False
        self.budget -= size
        return True

    def stream(self, name: str, text: str) -> None:
        """Append *text* to the last output if it is the same stream, else start one."""
        if not text:
            return
        if not self._take(len(text.encode("utf-8", "replace"))):
            text = text[: max(self.budget // 4, 0)]
            self.budget -= len(text.encode("utf-8", "replace"))
            if not self._notice_given():
                text += TRUNCATED
        last = self.outputs[-1] if self.outputs else None
        if last is not None and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        elif text:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def _notice_given(self) -> bool:
        return any(TRUNCATED in o.get("text", "") for o in self.outputs)

    def rich(self, output_type: str, data: dict, metadata: dict, count: int | None) -> None:
        """Append a display_data or execute_result output, or a notice if it is too big."""
        # Measure before copying: a 100 MB image must not be serialised to find out.
        if not self._take(_size(data) + _size(metadata) + 100):
            data = {"text/plain": "[display output dropped: over the grader's output limit]"}
            metadata = {}
        output = {"output_type": output_type, "data": _jsonable(data),
                  "metadata": _jsonable(metadata)}
        if output_type == "execute_result":
            output["execution_count"] = count
        self.outputs.append(output)

    def error(self, ename: str, evalue: str, traceback: list[str]) -> None:
        """Append an error output; tracebacks are cut to what the budget allows."""
        output = {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": traceback}
        if not self._take(len(json.dumps(output))):
            output["evalue"] = evalue[:1000]
            output["traceback"] = [line[:1000] for line in traceback[-20:]]
            self.budget -= len(json.dumps(output))
        self.outputs.append(output)


def _size(value: object) -> int:
    """Return roughly how many bytes *value* takes as JSON, without serialising it."""
    if isinstance(value, str | bytes):
        return len(value) + 2
    if isinstance(value, dict):
        return sum(_size(k) + _size(v) + 2 for k, v in value.items()) + 2
    if isinstance(value, list | tuple):
        return sum(_size(v) + 1 for v in value) + 2
    return len(repr(value))


def _jsonable(value: dict) -> dict:
    """Return *value* with anything JSON cannot hold turned into its repr."""
    return json.loads(json.dumps(value, default=repr))


class Stream(io.TextIOBase):
    """A text stream (stdout or stderr) that feeds the current cell's collector."""

    def __init__(self, name: str, shell: SandboxShell) -> None:
        self.name = name
        self.shell = shell

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.shell.collector.stream(self.name, str(text))
        return len(text)


class CollectingDisplayPublisher(DisplayPublisher):
    """Send ``display()`` calls to the current cell's collector."""

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
        self.shell.collector.rich("display_data", data, metadata or {}, None)

    def clear_output(self, wait=False):
        self.shell.collector.outputs.clear()


class CollectingDisplayHook(DisplayHook):
    """Send a cell's last expression value to the collector as an execute_result."""

    def write_output_prompt(self):
        pass

    def write_format_data(self, format_dict, md_dict=None):
        self.shell.collector.rich("execute_result", format_dict, md_dict or {}, self.prompt_count)


class SandboxShell(InteractiveShell):
    """An InteractiveShell whose outputs become nbformat outputs."""

    collector = Instance(Collector, allow_none=True)
    display_pub_class = CollectingDisplayPublisher
    displayhook_class = CollectingDisplayHook

    @contextlib.contextmanager
    def _tee(self, channel):
        # IPython copies every byte a cell prints into its history; 1 GB of printing would
        # then exhaust the sandbox's memory. Streams are already bounded by the collector.
        yield

    def _showtraceback(self, etype, evalue, stb):
        self.collector.error(etype.__name__, str(evalue), list(stb))


def make_shell() -> SandboxShell:
    """Create the shell once in the zygote, so each notebook starts with a ready one."""
    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "nocolor"
    shell = SandboxShell.instance(config=config)
    inspect.getmodule = cell_aware_getmodule(shell.compile._filename_map, inspect.getmodule)
    # One throw-away cell loads what IPython imports lazily on its first run, so every
    # forked notebook starts from a shell that has already paid for it.
    shell.collector = Collector(1 << 20)
    shell.run_cell("def _warm_up(x):\n    return x\n_warm_up(1)\n1/0", store_history=True)
    shell.reset(new_session=False)
    shell.execution_count = 1
    shell.collector = Collector(0)
    return shell


def cell_aware_getmodule(cells: Container[str], getmodule: Callable[..., ModuleType | None]):
    """Return *getmodule* answering at once for frames of the shell's own cells.

    IPython looks up the module of every frame of a traceback. For a cell's frame
    ``inspect.getmodule`` finds none only after scanning every loaded module (about
    1,700 with Qiskit and dimod), two or three times per frame. Such a frame has no
    module by construction: its code was compiled from a cell (a name in *cells*, the
    shell's ``compile._filename_map``), not imported. The answer is the same None.
    """
    def cell_file(value: object, filename: str | None) -> str | None:
        if filename is not None:
            return filename
        if isinstance(value, TracebackType):
            value = value.tb_frame
        if isinstance(value, FrameType):
            value = value.f_code
        return value.co_filename if isinstance(value, CodeType) else None

    def lookup(value: object, _filename: str | None = None) -> ModuleType | None:
        if not hasattr(value, "__module__") and not hasattr(value, "__name__") and \
                cell_file(value, _filename) in cells:
            return None
        return getmodule(value, _filename)

    return lookup


def serve(shell: SandboxShell, commands: int, results: int, budget: int) -> None:
    """Execute cells read from *commands* until end of file, writing results to *results*.

    Args:
        shell: The shell made by :func:`make_shell`.
        commands: Descriptor the grader sends ``{"source": ...}`` frames on.
        results: Descriptor this process answers on, one frame per cell.
        budget: Bytes of outputs this notebook may produce in total.
    """
    sys.stdout = Stream("stdout", shell)
    sys.stderr = Stream("stderr", shell)
    remaining = budget - RESERVE
    while True:
        message = frames.read(commands)
        if message is None:
            return
        shell.collector = Collector(remaining)
        result = shell.run_cell(message["source"], store_history=True)
        collector = shell.collector
        error = result.error_before_exec or result.error_in_exec
        if error is not None and not any(o["output_type"] == "error" for o in collector.outputs):
            # As nbgrader does with a kernel's error reply: a cell that failed fails, even if
            # learner code silenced IPython's traceback display.
            collector.error(type(error).__name__, str(error),
                            ["ERROR: An error occurred while showtraceback was disabled"])
        remaining = max(collector.budget, 0)
        frames.write(results, {
            "execution_count": shell.execution_count - 1,
            "outputs": collector.outputs,
            "truncated": collector.truncated,
        })
