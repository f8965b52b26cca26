"""Run learner notebooks in a confined, pre-warmed, throw-away process.

A zygote process imports the heavy libraries once and keeps an IPython shell
ready; every notebook runs in a fresh child forked from it, moved into its own
PID, mount, network, IPC and UTS namespaces, given a private root of read-only
system files plus a small tmpfs work directory, limited by rlimits, switched
to an unprivileged user and confined by a system-call filter
(:mod:`grader.sandbox.seccomp`). Cells go in one at a time over a pipe; results
come back as length-prefixed JSON (nbformat outputs) that the grader reads
against a byte budget.
"""
