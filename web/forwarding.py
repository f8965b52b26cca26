"""Trust ``X-Forwarded-*`` headers only on connections the hub's proxy made.

The service listens on ``127.0.0.1:<certificates_port>`` so the proxy
(configurable-http-proxy, run by JupyterHub as root) can reach it; so can any
local user. Rate limits tell clients apart by the address the proxy forwards,
so a direct connection with a forged ``X-Forwarded-For`` would choose its own
rate-limit bucket. JupyterHub 6 accepts only ``http(s)`` service URLs, so the
service cannot hide behind a Unix socket only the proxy can open; instead
:class:`ProxyOnlyForwarding` asks the kernel who owns the other end of each
loopback connection (netlink ``sock_diag``, looked up by the exact four-tuple
of the accepted socket) and applies :class:`~werkzeug.middleware.proxy_fix.ProxyFix`
only when that owner is one of ``TRUSTED_PROXY_UIDS`` (root by default).
From anyone else, and whenever the owner cannot be established, the
forwarding headers are removed and the connection's own address counts.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections.abc import Callable, Collection
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

#: The environ keys of the headers ProxyFix reads.
FORWARDING_KEYS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
                   "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX", "HTTP_FORWARDED")

#: Where WSGI servers put the accepted connection (gunicorn, Werkzeug's own server).
SOCKET_KEYS = ("gunicorn.socket", "werkzeug.socket")

# Netlink sock_diag (linux/sock_diag.h, linux/inet_diag.h): one exact look-up of a TCP
# socket by its four-tuple. Reading /proc/net/tcp instead walks every socket of the machine
# (milliseconds per request here).
_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 1
_TCP_ESTABLISHED = 1
_NO_COOKIE = 0xFFFFFFFF
_HEADER = struct.Struct("=IHHII")  # nlmsghdr
_REQUEST = struct.Struct("=BBBxI")  # inet_diag_req_v2 up to its inet_diag_sockid
_SOCKID = struct.Struct(">HH16s16s")  # ports and addresses, network order
_SOCKID_TAIL = struct.Struct("=III")  # interface, cookie
_UID_OFFSET = _HEADER.size + 4 + _SOCKID.size + _SOCKID_TAIL.size + 12  # inet_diag_msg.idiag_uid


def _address(family: int, host: str) -> bytes:
    return socket.inet_pton(family, host.split("%", 1)[0]).ljust(16, b"\0")


def _lookup(family: int, source: tuple[Any, ...], destination: tuple[Any, ...]) -> int | None:
    """Return the uid of the established TCP socket *source* → *destination*, if the kernel has it."""
    body = (_REQUEST.pack(family, socket.IPPROTO_TCP, 0, 1 << _TCP_ESTABLISHED)
            + _SOCKID.pack(source[1], destination[1], _address(family, source[0]),
                           _address(family, destination[0]))
            + _SOCKID_TAIL.pack(0, _NO_COOKIE, _NO_COOKIE))
    message = _HEADER.pack(_HEADER.size + len(body), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, 1,
                           0) + body
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as diag:
        diag.settimeout(1)
        diag.sendto(message, (0, 0))
        answer = diag.recv(8192)
    if len(answer) < _HEADER.size:
        return None
    _length, kind, _flags, _seq, _pid = _HEADER.unpack_from(answer)
    if kind != _SOCK_DIAG_BY_FAMILY or len(answer) < _UID_OFFSET + 4:
        return None  # _NLMSG_ERROR: no such socket (it closed), or the look-up was refused
    if answer[_HEADER.size + 1] != _TCP_ESTABLISHED:
        # A socket its owner closed becomes the kernel's (a time-wait socket reports uid 0):
        # only an open connection says who is at the other end.
        return None
    return struct.unpack_from("=I", answer, _UID_OFFSET)[0]


def peer_uid(connection: socket.socket) -> int | None:
    """Return the uid owning the other end of a loopback TCP *connection*, or None.

    None when the peer is not on this machine's loopback, the connection is
    not TCP, or the kernel no longer knows the peer's socket (it has gone).
    """
    family = connection.family
    if family not in (socket.AF_INET, socket.AF_INET6) or connection.type != socket.SOCK_STREAM:
        return None
    try:
        ours, theirs = connection.getsockname(), connection.getpeername()
    except OSError:
        return None
    if not ipaddress.ip_address(theirs[0].split("%", 1)[0]).is_loopback:
        return None
    try:
        # Their socket is the one whose local end is our peer and whose remote end is us.
        return _lookup(family, theirs, ours)
    except OSError:
        return None


class ProxyOnlyForwarding:
    """WSGI middleware: ProxyFix for the proxy's connections, no forwarding headers for others.

    Args:
        app: The WSGI application.
        proxies: How many proxies' ``X-Forwarded-*`` values to trust (ProxyFix's counts).
        trusted_uids: The users whose connections are the proxy's.
    """

    def __init__(self, app: Callable[..., Any], *, proxies: int,
                 trusted_uids: Collection[int]) -> None:
        self.app = app
        self.fixed = ProxyFix(app, x_for=proxies, x_proto=proxies, x_host=proxies)
        self.trusted_uids = frozenset(trusted_uids)

    def _from_proxy(self, environ: dict[str, Any]) -> bool:
        connection = next((environ[key] for key in SOCKET_KEYS if key in environ), None)
        return isinstance(connection, socket.socket) and peer_uid(connection) in self.trusted_uids

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        if not any(key in environ for key in FORWARDING_KEYS):
            return self.app(environ, start_response)
        if self._from_proxy(environ):
            return self.fixed(environ, start_response)
        for key in FORWARDING_KEYS:
            environ.pop(key, None)
        return self.app(environ, start_response)
