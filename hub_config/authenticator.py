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

Staff accounts (instructors, examiners), and learners' where
``accounts.learner_first_use`` is false, are never claimed at first login:
their first login is refused until they activate at ``/hub/activate`` with
the one-time code ``qcampus roster add`` printed (:mod:`qcampus.activation`),
choosing their password there. Wrong codes count as failed logins; codes are
never logged.

Outside the hub, :func:`for_deployment` returns the authenticator as the
deployment's hub configures it, so other commands (``qcampus up --demo``) set
passwords through :meth:`RosterAuthenticator.preset_password` rather than by
writing its password database themselves.
"""

from __future__ import annotations

import dbm
import hashlib
import ipaddress
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from pathlib import Path

from firstuseauthenticator import FirstUseAuthenticator
from firstuseauthenticator.firstuseauthenticator import CustomLoginHandler
from jinja2 import ChoiceLoader, DictLoader
from jupyterhub.handlers import LoginHandler, LogoutHandler
from jupyterhub.utils import new_token
from tornado import web
from traitlets import Bool, Integer, Unicode, default
from traitlets.config import Config

from hub_config import configurer
from qcampus import roster as roster_mod
from qcampus import settings as settings_mod
from qcampus.activation import Activations, needs_activation
from qcampus.settings import Settings

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


ACTIVATE_TEMPLATE = "qcampus-activate.html"
ACTIVATE_PAGE = """{% extends "page.html" %}
{% block main %}
<div id="activate-main" class="container" style="max-width: 32rem">
  <h1>Activate your account / アカウントの有効化</h1>
  {% if activated %}
  <p class="alert alert-success">{{ username }} is active: <a href="{{ login_url }}">log in</a> with
    your new password. /
    有効化しました。新しいパスワードで<a href="{{ login_url }}">ログイン</a>してください。</p>
  {% else %}
  <p>Enter the one-time code your operator gave you and choose your password. /
    管理者から受け取った一回限りのコードを入力し、パスワードを決めてください。</p>
  {% if login_error %}<p class="alert alert-danger" role="alert">{{ login_error }}</p>{% endif %}
  <form action="{{ base_url }}activate" method="post" role="form">
    <input type="hidden" name="_xsrf" value="{{ xsrf }}"/>
    <label for="username">Username / ユーザー名</label>
    <input id="username" name="username" class="form-control" autocapitalize="off"
           autocorrect="off" required value="{{ username or '' }}"/>
    <label for="code">Activation code / 有効化コード</label>
    <input id="code" name="code" class="form-control" autocomplete="one-time-code" required/>
    <label for="password">New password, at least {{ min_password_length }} characters /
      新しいパスワード ({{ min_password_length }} 文字以上)</label>
    <input id="password" name="password" type="password" class="form-control"
           autocomplete="new-password" required/>
    <button type="submit" class="btn btn-jupyter form-control mt-3">Activate / 有効化</button>
  </form>
  {% endif %}
</div>
{% endblock %}
"""

NOT_ACTIVATED = ("This account is not activated yet: open /hub/activate and enter the one-time "
                 "code from your operator. / このアカウントはまだ有効化されていません。"
                 "/hub/activate で管理者から受け取ったコードを入力してください。")
CODE_REFUSED = ("The activation code is wrong, expired or already used; ask your operator for a "
                "new one (`qcampus roster activate NAME`). / コードが正しくないか、期限切れか、"
                "使用済みです。管理者に新しいコードを依頼してください。")


class ActivateHandler(LoginHandler):
    """``/hub/activate``: choose a password with a one-time code (the login form's XSRF handling)."""

    def _render(self, login_error=None, username=None, activated=False, **kwargs):
        env = self.settings["jinja2_env"]
        if not getattr(env, "qcampus_activate", False):
            env.loader = ChoiceLoader([env.loader, DictLoader({ACTIVATE_TEMPLATE: ACTIVATE_PAGE})])
            env.qcampus_activate = True
        return self.render_template(
            ACTIVATE_TEMPLATE, login_error=login_error or kwargs.get("message"),
            username=log_name(username or ""), activated=activated,
            min_password_length=self.authenticator.min_password_length)

    async def post(self):
        username = self.get_body_argument("username", "", strip=True)
        error = self.authenticator.activate(
            self, username, self.get_body_argument("code", "", strip=True),
            self.get_body_argument("password", "", strip=False))
        if error:
            self.set_status(400)
        self.finish(await self._render(login_error=error, username=username,
                                       activated=error is None))


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
    home = Unicode(config=True, help="The deployment directory (roster, settings, hub state); "
                                     "default $QCAMPUS_HOME, as jupyterhub_config.py reads it.")
    learner_first_use = Bool(config=True, help="Learners choose their password at first login; "
                                               "default the setting accounts.learner_first_use.")

    @default("home")
    def _default_home(self) -> str:
        return str(settings_mod.default_home())

    @default("learner_first_use")
    def _default_learner_first_use(self) -> bool:
        return settings_mod.load(Path(self.home))["accounts"]["learner_first_use"]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.limiter = LoginLimiter(self.login_attempts, self.login_window)

    @property
    def activations(self) -> Activations:
        return Activations(Path(self.dbm_path).parent)

    def check_allowed(self, username, authentication=None):
        """Allow exactly the names in the roster file as it is now.

        ``allowed_users`` is the roster as it was when the hub started; ``qcampus roster
        add`` and ``remove`` change the file while the hub runs (and then its users).
        """
        return username in roster_mod.load(Path(self.home))

    async def refresh_user(self, user, handler=None):
        """Keep a hub session only while its user is on the roster.

        Someone removed while the hub was stopped is still a hub user at the next start,
        with a login cookie that may be valid; within ``auth_refresh_age`` their next
        request to the hub asks for a new login, which :meth:`check_allowed` refuses.
        """
        return self.check_allowed(user.name) and await super().refresh_user(user, handler)

    def needs_code(self, username: str) -> bool:
        """Return whether *username* may not choose a password by logging in first."""
        member = roster_mod.load(Path(self.home)).get(username)
        # Someone missing from the roster file but known to the hub: no first-use claim either.
        role = member.role if member else "instructor"
        return needs_activation(role, self.learner_first_use) and not self.has_password(username)

    def has_password(self, username: str) -> bool:
        try:
            with dbm.open(self.dbm_path, "r") as db:
                return username.encode("utf-8") in db
        except dbm.error:
            return False  # no password database yet

    def preset_password(self, username: str, password: str) -> bool:
        """Give *username* a first password unless they have one; return whether it was set.

        Raises:
            ValueError: *password* is shorter than ``min_password_length``.
        """
        username = self.normalize_username(username)
        if self.has_password(username):
            return False
        if not self._validate_password(password):
            raise ValueError(f"A password needs at least {self.min_password_length} characters.")
        self.reset_password(username, password)
        return True

    def _refuse_if_limited(self, keys: tuple[str, str], username: str) -> None:
        wait = self.limiter.retry_after(*keys)
        if wait > 0:
            self.log.warning("Login refused for %r from %s: too many failed attempts",
                             log_name(username), keys[0][3:])
            error = web.HTTPError(429, too_many_message(wait))
            error.headers = {"Retry-After": str(math.ceil(wait))}
            raise error

    def activate(self, handler, username: str, code: str, password: str) -> str | None:
        """Set *username*'s first password with their one-time *code*; return an error or None."""
        username = self.normalize_username(username)
        keys = (f"ip:{client_address(handler.request)}", account_key(username))
        self._refuse_if_limited(keys, username)
        if not self._validate_password(password):
            return (f"Choose a password of at least {self.min_password_length} characters. / "
                    f"パスワードは {self.min_password_length} 文字以上にしてください。")
        if not self.check_allowed(username, None) or not self.needs_code(username):
            # Not enrolled, first-use, or already active: the same answer as a wrong code,
            # so the form tells nobody which names exist.
            self.limiter.fail(*keys)
            return CODE_REFUSED
        outcome = self.activations.redeem(username, code)
        if not outcome.ok:
            self.limiter.fail(*keys)
            self.log.warning("Activation of %r refused: %s code", log_name(username), outcome.reason)
            return CODE_REFUSED
        self.reset_password(username, password)
        self.limiter.forget(keys[1])
        self.log.info("Account %r activated", username)
        return None

    async def authenticate(self, handler, data):
        username = self.normalize_username(str(data.get("username", "")))
        keys = (f"ip:{client_address(handler.request)}", account_key(username))
        self._refuse_if_limited(keys, username)
        if self.needs_code(username):
            # Without a password yet, FirstUse would let this visitor choose one.
            handler.custom_login_error = NOT_ACTIVATED
            self.log.warning("Login of %r refused: account not activated", log_name(username))
            self.limiter.fail(*keys)
            return None
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
        return [*handlers, (r"/logout", RotatingLogoutHandler), (r"/activate", ActivateHandler)]


def for_deployment(settings: Settings) -> RosterAuthenticator:
    """Return the roster authenticator configured as the deployment's hub configures it.

    Its passwords are the deployment's even while ``hub.authenticator`` is
    ``workshop``, so accounts prepared then can log in once the roster returns.
    """
    cfg = configurer.config_from_settings(settings)
    c = Config()
    configurer.update_auth(c, {**cfg, "hub": {**cfg["hub"], "authenticator": "firstuse"}})
    # Only adds passwords: the hub runs FirstUse's own start-up checks of the database.
    return RosterAuthenticator(config=c, check_passwords_on_startup=False)
