"""Resource limits of one sandboxed notebook run."""

from __future__ import annotations

import resource
from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one submission may use before it is stopped.

    Memory is counted on top of the pre-warmed image the sandbox is forked from
    (Qiskit, NumPy and dimod already loaded), because a forked child inherits
    that address space.
    """

    #: Wall-clock seconds one cell may run.
    cell_timeout: float = 30.0
    #: Wall-clock seconds the whole notebook may run.
    notebook_timeout: float = 120.0
    #: CPU seconds the notebook may use, all its threads together; None allows as many
    #: as its wall-clock seconds.
    cpu_seconds: float | None = None
    #: Address space a submission may add to the pre-warmed image, in bytes.
    memory_bytes: int = 1024 * MiB
    #: Processes and threads the sandbox user may have at once.
    processes: int = 64
    #: Largest file the submission may write, in bytes.
    file_bytes: int = 16 * MiB
    #: Size of the submission's writable scratch space (/work and /tmp), in bytes.
    scratch_bytes: int = 64 * MiB
    #: Open file descriptors.
    open_files: int = 256
    #: Bytes of results the grader reads back for the whole notebook.
    output_bytes: int = 1 * MiB

    def cpu_time(self) -> float:
        """Return the CPU seconds the notebook may use."""
        return self.notebook_timeout if self.cpu_seconds is None else self.cpu_seconds

    def rlimits(self, image_bytes: int) -> dict[int, int]:
        """Return the rlimits to apply, given the size of the pre-warmed image.

        Args:
            image_bytes: Virtual memory the process already uses when forked.

        Returns:
            A mapping from ``resource.RLIMIT_*`` to the soft and hard limit.
        """
        cpu = int(self.cpu_time()) + 1
        return {
            resource.RLIMIT_CPU: cpu,
            resource.RLIMIT_AS: image_bytes + self.memory_bytes,
            resource.RLIMIT_NPROC: self.processes,
            resource.RLIMIT_FSIZE: self.file_bytes,
            resource.RLIMIT_NOFILE: self.open_files,
            resource.RLIMIT_CORE: 0,
        }


def image_bytes() -> int:
    """Return the virtual memory size of the calling process in bytes."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[0])
    return pages * resource.getpagesize()
