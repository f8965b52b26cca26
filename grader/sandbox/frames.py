"""Length-prefixed JSON frames, the only thing that crosses the sandbox boundary.

Results are JSON, never pickle: a hostile sender can at worst produce a value
the reader rejects.
"""

from __future__ import annotations

import json
import os
import struct

from grader.errors import SandboxProtocolError

HEADER = struct.Struct(">I")


def encode(message: dict) -> bytes:
    """Return *message* as one frame: a 4-byte length, then UTF-8 JSON."""
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")
    return HEADER.pack(len(body)) + body


def write(fd: int, message: dict) -> None:
    """Write *message* as one frame to the file descriptor *fd*."""
    data = memoryview(encode(message))
    while data:
        written = os.write(fd, data)
        data = data[written:]


def read_exact(fd: int, size: int) -> bytes | None:
    """Read exactly *size* bytes from *fd*; return None at end of file."""
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read(fd: int) -> dict | None:
    """Read one frame from *fd* (blocking); return None at end of file."""
    header = read_exact(fd, HEADER.size)
    if header is None:
        return None
    body = read_exact(fd, HEADER.unpack(header)[0])
    if body is None:
        return None
    return decode(body)


def decode(body: bytes) -> dict:
    """Parse a frame body; raise SandboxProtocolError unless it is a JSON object."""
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise SandboxProtocolError(f"the sandbox sent a frame that is not JSON ({exc})") from exc
    if not isinstance(message, dict):
        raise SandboxProtocolError("the sandbox sent a frame that is not a JSON object")
    return message
