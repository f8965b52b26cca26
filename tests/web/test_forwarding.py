"""X-Forwarded-For counts only on the proxy's connections, never on a local user's direct one."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Iterator

import pytest
import requests
from werkzeug.serving import make_server

from tests.certificates.conftest import as_user
from web import create_app
from web.forwarding import peer_uid


@pytest.fixture
def live_url(deployment, hub) -> Iterator[str]:
    """Yield the address of the service answering on loopback TCP, 3 verifications a minute."""
    app = create_app({"QCAMPUS_HOME": deployment.home, "RATELIMIT_STORAGE_URI": "memory://",
                      "HUB_AUTH": hub, "SERVICE_PREFIX": "/", "RATELIMIT_VERIFY": "3 per minute"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["qcampus_engine"].dispose()
    app.extensions["qcampus_web_engine"].dispose()


def _curl(user, url: str, forwarded_for: str) -> str:
    done = as_user(user, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                   "-H", f"X-Forwarded-For: {forwarded_for}", url)
    return done.stdout


def test_direct_connection_cannot_escape_its_bucket(live_url, local_user, issue_credential):
    """A local user forging a new X-Forwarded-For on each direct request is still limited."""
    issued = issue_credential()
    url = f"{live_url}/verify/{issued.credential_id.removeprefix('urn:uuid:')}"
    codes = [_curl(local_user, url, f"203.0.113.{n}") for n in range(5)]
    assert codes == ["200", "200", "200", "429", "429"]


def test_forwarded_address_from_the_proxy_is_the_key(live_url, issue_credential):
    """On the proxy's (root's) connections, clients are told apart by X-Forwarded-For."""
    issued = issue_credential()
    url = f"{live_url}/verify/{issued.credential_id.removeprefix('urn:uuid:')}"

    def get(address: str) -> int:
        return requests.get(url, headers={"X-Forwarded-For": address}, timeout=10).status_code

    assert [get("198.51.100.1") for _ in range(4)] == [200, 200, 200, 429]
    assert get("198.51.100.2") == 200


def test_forwarding_headers_without_a_connection_are_ignored(client, issue_credential):
    """Where the server hands over no socket, nobody is known to be the proxy."""
    issued = issue_credential()
    response = client.get(f"/verify/{issued.credential_id.removeprefix('urn:uuid:')}",
                          headers={"X-Forwarded-For": "198.51.100.1",
                                   "X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers


def test_peer_uid_names_the_owner_of_the_other_end(local_user):
    """The kernel's table names root for our own connection and the local user for theirs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as _ours:
            accepted, _ = listener.accept()
            with accepted:
                assert peer_uid(accepted) == os.geteuid() == 0
        uid, gid = local_user
        theirs = subprocess.Popen(
            ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--",
             "/usr/bin/python3", "-c",
             f"import socket, sys; s = socket.create_connection(('127.0.0.1', {port})); "
             "sys.stdin.read()"], stdin=subprocess.PIPE)
        try:
            accepted, _ = listener.accept()
            with accepted:
                assert peer_uid(accepted) == uid
        finally:
            theirs.communicate(b"", timeout=10)


def test_peer_uid_of_a_closed_peer_is_unknown():
    """Once the peer closed its end, the kernel owns that socket: nobody is vouched for."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        peer = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        with accepted:
            peer.close()
            assert peer_uid(accepted) is None


def test_peer_uid_of_a_unix_socket_is_unknown():
    """Only loopback TCP peers are looked up."""
    first, second = socket.socketpair()
    with first, second:
        assert peer_uid(first) is None
