"""FirstUseAuthenticator with a login rate limit and a logout that invalidates the login cookie.

JupyterHub's login cookie carries the user's ``cookie_id``, which stays the
same across sessions: a copy of the cookie taken before logout would still log
in afterwards. Logging out here gives the user a new ``cookie_id``, so every
earlier login cookie of that user (in any browser) stops working.

Failed logins are counted per client address and per account in a sliding
window (:class:`LoginLimiter`); once either reaches the limit, further attempts
are answered with HTTP 429 until the oldest failure leaves the window. The
counters live in the hub's memory: JupyterHub is a single process, so every
login passes through the same limiter (they reset when the hub restarts).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from firstuseauthenticator import FirstUseAuthenticator
from firstuseauthenticator.firstuseauthenticator import CustomLoginHandler
from jupyterhub.handlers import LogoutHandler
from jupyterhub.utils import new_token
from tornado import web
from traitlets import Integer

# Longer names are stored and logged by their digest or a prefix, never whole.
MAX_NAME_IN_KEY = 64
MAX_NAME_IN_LOG = 32
# Upper bound on the number of addresses and accounts tracked at once.
MAX_TRACKED = 100_000


def log_name(username: str) -> str:
    """Return *username* fit for a log line: long names are cut, with their length."""
    if len(username) <= MAX_NAME_IN_LOG:
        return username
    return f"{username[:16]}...({len(username)} chars)"


def account_key(username: str) -> str:
    """Return the limiter key of an account; long names become a fixed-size digest."""
    if len(username) <= MAX_NAME_IN_KEY:
        return f"user:{username}"
    return "user#" + hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()


def client_address(request) -> str:
    """Return the address of the client that sent *request* through the proxy.

    configurable-http-proxy appends the address it received the request from to
    ``X-Forwarded-For``, so the last entry is the one a client cannot choose
    (``X-Real-Ip`` and earlier entries are the client's own words).
    """
    forwarded = request.headers.get("X-Forwarded-For", "")
    last = forwarded.rsplit(",", 1)[-1].strip()
    context = getattr(request.connection, "context", None)
    peer = getattr(context, "_orig_remote_ip", None) or request.remote_ip or "unknown"
    for candidate in (last, peer):
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return "unknown"


class LoginLimiter:
    """Sliding-window counts of failed logins per key, held in this process.

    A key is blocked while it has ``attempts`` failures younger than ``window``
    seconds. At most ``max_tracked`` keys are kept; the least recently failed
    go first.
    """

    def __init__(self, attempts: int, window: float, clock: Callable[[], float] = time.monotonic,
                 max_tracked: int = MAX_TRACKED):
        self.attempts, self.window, self.clock = attempts, window, clock
        self.max_tracked = max_tracked
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, *keys: str) -> float:
        """Return the seconds until every one of *keys* may try again (0: allowed now)."""
        now, wait = self.clock(), 0.0
        for key in keys:
            times = self._recent(key, now)
            if times is not None and len(times) >= self.attempts:
                wait = max(wait, times[-self.attempts] + self.window - now)
        return wait

    def fail(self, *keys: str) -> None:
        """Record one failed attempt against each of *keys*."""
        now = self.clock()
        for key in keys:
            times = self._recent(key, now)
            if times is None:
                times = self._failures[key] = deque(maxlen=self.attempts)
            times.append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > self.max_tracked:
            self._failures.popitem(last=False)

    def forget(self, key: str) -> None:
        """Drop the failures counted against *key* alone."""
        self._failures.pop(key, None)

    def __len__(self) -> int:
        return len(self._failures)


def too_many_message(seconds: float) -> str:
    """Return what a refused client is told, in whole minutes rounded up."""
    minutes = max(1, math.ceil(seconds / 60))
    return (f"Too many login attempts; wait {minutes} minute{'s' if minutes != 1 else ''} "
            f"and try again.")


class RosterLoginHandler(CustomLoginHandler):
    """The login form, also when it shows an error page's message (e.g. the 429 refusal)."""

    def _render(self, login_error=None, username=None, **kwargs):
        # JupyterHub renders a failed form post's error page through _render with the
        # error page's fields; FirstUse's own _render accepts none of them.
        if self.custom_login_error:
            login_error = self.custom_login_error
        if username:
            username = log_name(username)
        return super(CustomLoginHandler, self)._render(login_error, username, **kwargs)


class RotatingLogoutHandler(LogoutHandler):
    """Log out, then rotate the user's cookie id so old login cookies are refused."""

    async def handle_logout(self):
        user = self.current_user
        if user is not None:
            user.orm_user.cookie_id = new_token()
            self.db.commit()


class RosterAuthenticator(FirstUseAuthenticator):
    """Enrolled users with first-use passwords, a login rate limit, and a logout that ends every session."""

    login_attempts = Integer(10, config=True,
                             help="Failed logins per client address and per account within "
                                  "login_window before further attempts get HTTP 429.")
    login_window = Integer(900, config=True, help="Length of the sliding window, in seconds.")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.limiter = LoginLimiter(self.login_attempts, self.login_window)

    async def authenticate(self, handler, data):
        username = self.normalize_username(str(data.get("username", "")))
        keys = (f"ip:{client_address(handler.request)}", account_key(username))
        wait = self.limiter.retry_after(*keys)
        if wait > 0:
            self.log.warning("Login refused for %r from %s: too many failed attempts",
                             log_name(username), keys[0][3:])
            error = web.HTTPError(429, too_many_message(wait))
            error.headers = {"Retry-After": str(math.ceil(wait))}
            raise error
        authenticated = await super().authenticate(handler, data)
        if authenticated is None:
            self.limiter.fail(*keys)
        else:
            # Only this account's own count goes; the address keeps its failures.
            self.limiter.forget(keys[1])
        return authenticated

    def get_handlers(self, app):
        # The authenticator's handlers are registered before the hub's own /login and /logout.
        handlers = [(path, RosterLoginHandler if path == r"/login" else handler)
                    for path, handler in super().get_handlers(app)]
        return [*handlers, (r"/logout", RotatingLogoutHandler)]
