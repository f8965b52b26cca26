"""The login rate limit of RosterAuthenticator, driven with a fake clock."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from tornado import web
from tornado.httputil import HTTPHeaders
from traitlets.config import Config

from hub_config import configurer
from hub_config.authenticator import (
    LoginLimiter,
    RosterAuthenticator,
    RosterLoginHandler,
    account_key,
    client_address,
    log_name,
    too_many_message,
)
from hub_config.configurer import HubConfigError, validate
from qcampus import roster


class Clock:
    """A clock that moves only when told."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def request(forwarded: str = "", peer: str = "127.0.0.1") -> SimpleNamespace:
    """Return a request as the hub sees it behind the proxy."""
    headers = HTTPHeaders({"X-Forwarded-For": forwarded} if forwarded else {})
    return SimpleNamespace(headers=headers, remote_ip=peer, connection=None)


def handler(address: str) -> SimpleNamespace:
    """Return a login handler stand-in for a client at *address*."""
    return SimpleNamespace(request=request(f"{address}"), custom_login_error="")


def enrol_learners(home, *names: str) -> None:
    """Write a roster of first-use learners into *home*."""
    roster.save(home, {n: roster.Member(n, "learner", ("alpha",)) for n in names})


@pytest.fixture
def clock() -> Clock:
    """Return a fresh fake clock."""
    return Clock()


@pytest.fixture
def auth(tmp_path, clock) -> RosterAuthenticator:
    """Return an authenticator allowing 3 failures in 60 s, with three enrolled accounts."""
    enrol_learners(tmp_path, "alice", "bob", "carol")
    authenticator = RosterAuthenticator(
        dbm_path=str(tmp_path / "passwords.dbm"), create_users=True,
        check_passwords_on_startup=False, min_password_length=8,
        login_attempts=3, login_window=60, home=str(tmp_path))
    authenticator.limiter.clock = clock
    for name in ("alice", "bob", "carol"):
        assert login(authenticator, "10.0.0.99", name, f"{name}-password") == name
    # From now on only these three exist (the hub's database is not needed).
    authenticator.create_users = False
    authenticator._user_exists = {"alice", "bob", "carol"}.__contains__
    return authenticator


def login(auth: RosterAuthenticator, address: str, name: str, password: str):
    """Run one login attempt and return its result."""
    return asyncio.run(auth.authenticate(handler(address), {"username": name, "password": password}))


def test_limiter_blocks_after_attempts_until_window_passes(clock):
    """A key is blocked at the limit and free again once its oldest failure is a window old."""
    limiter = LoginLimiter(3, 60, clock=clock)
    for _ in range(2):
        limiter.fail("k")
        clock.now += 10
    assert limiter.retry_after("k") == 0
    limiter.fail("k")
    assert limiter.retry_after("k") == 40
    clock.now += 39
    assert limiter.retry_after("k") == 1
    clock.now += 1
    assert limiter.retry_after("k") == 0
    assert limiter.retry_after("other") == 0


def test_limiter_window_slides(clock):
    """Failures older than the window no longer count."""
    limiter = LoginLimiter(2, 60, clock=clock)
    limiter.fail("k")
    clock.now += 61
    limiter.fail("k")
    assert limiter.retry_after("k") == 0
    assert len(limiter) == 1


def test_limiter_memory_is_bounded(clock):
    """Each key keeps at most `attempts` times, and at most `max_tracked` keys are kept."""
    limiter = LoginLimiter(3, 60, clock=clock, max_tracked=100)
    for i in range(1000):
        limiter.fail(f"k{i}", "same")
    assert len(limiter) == 100
    assert len(limiter._failures["same"]) == 3
    assert "k0" not in limiter._failures


def test_long_usernames_are_capped_in_keys_and_logs():
    """A 10 KB username becomes a fixed-size key and a short log field."""
    huge = "q" * 10_000
    assert len(account_key(huge)) < 80
    assert account_key(huge) != account_key(huge + "q")
    assert account_key("ada") == "user:ada"
    assert log_name(huge) == "qqqqqqqqqqqqqqqq...(10000 chars)"
    assert log_name("ada") == "ada"


@pytest.mark.parametrize(("forwarded", "peer", "expected"), [
    ("", "127.0.0.1", "127.0.0.1"),
    ("198.51.100.7", "127.0.0.1", "198.51.100.7"),
    ("203.0.113.1, 198.51.100.7", "127.0.0.1", "198.51.100.7"),
    ("not-an-address", "127.0.0.1", "127.0.0.1"),
    ("", "", "unknown"),
])
def test_client_address_is_the_proxys_entry(forwarded, peer, expected):
    """The address is the last X-Forwarded-For entry (the proxy's), else the peer."""
    assert client_address(request(forwarded, peer)) == expected


def test_client_cannot_choose_its_address_with_x_real_ip():
    """X-Real-Ip, which any client can send, is ignored."""
    req = request("198.51.100.7")
    req.headers["X-Real-Ip"] = "203.0.113.9"
    assert client_address(req) == "198.51.100.7"


@pytest.mark.parametrize(("seconds", "text"), [
    (1, "wait 1 minute and"), (60, "wait 1 minute and"), (61, "wait 2 minutes and"),
    (900, "wait 15 minutes and")])
def test_refusal_message_names_whole_minutes(seconds, text):
    """The refusal says how many minutes to wait, rounded up."""
    message = too_many_message(seconds)
    assert message.startswith("Too many login attempts;") and text in message


def test_per_account_limit_answers_429(auth, clock):
    """After 3 wrong passwords for one account, even its right password from elsewhere gets 429."""
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        assert login(auth, address, "alice", "wrong-password") is None
    with pytest.raises(web.HTTPError) as refused:
        login(auth, "10.0.0.4", "alice", "alice-password")
    assert refused.value.status_code == 429
    assert "Too many login attempts; wait 1 minute" in refused.value.log_message
    assert refused.value.headers == {"Retry-After": "60"}
    # Another account from a fresh address is unaffected.
    assert login(auth, "10.0.0.5", "bob", "bob-password") == "bob"
    clock.now += 60
    assert login(auth, "10.0.0.4", "alice", "alice-password") == "alice"


def test_per_address_limit_answers_429(auth, clock):
    """After 3 failures from one address, any account from it gets 429; other addresses do not."""
    for name in ("alice", "nobody", "q" * 10_000):
        assert login(auth, "10.0.0.1", name, "wrong-password") is None
    with pytest.raises(web.HTTPError) as refused:
        login(auth, "10.0.0.1", "carol", "carol-password")
    assert refused.value.status_code == 429
    assert login(auth, "10.0.0.2", "carol", "carol-password") == "carol"


def test_success_resets_only_its_own_account(auth):
    """A correct login clears its account's count, not another account's nor the address's."""
    for _ in range(2):
        assert login(auth, "10.0.0.1", "alice", "wrong-password") is None
    assert login(auth, "10.0.0.2", "bob", "wrong-password") is None
    assert login(auth, "10.0.0.2", "bob", "wrong-password") is None
    assert login(auth, "10.0.0.3", "alice", "alice-password") == "alice"
    assert login(auth, "10.0.0.4", "bob", "wrong-password") is None
    with pytest.raises(web.HTTPError):
        login(auth, "10.0.0.5", "bob", "bob-password")
    assert login(auth, "10.0.0.1", "alice", "wrong-password") is None
    with pytest.raises(web.HTTPError):
        login(auth, "10.0.0.1", "carol", "carol-password")


def test_blocked_attempts_do_not_extend_the_block(auth, clock):
    """Attempts refused with 429 are not counted as failures."""
    for _ in range(3):
        login(auth, "10.0.0.1", "alice", "wrong-password")
    clock.now += 30
    for _ in range(5):
        with pytest.raises(web.HTTPError):
            login(auth, "10.0.0.1", "alice", "wrong-password")
    clock.now += 30
    assert login(auth, "10.0.0.1", "alice", "alice-password") == "alice"


def test_login_handler_replaces_firstuse_login():
    """The authenticator serves its own /login and the rotating /logout."""
    handlers = dict(RosterAuthenticator(check_passwords_on_startup=False).get_handlers(None))
    assert handlers[r"/login"] is RosterLoginHandler
    assert handlers[r"/logout"].__name__ == "RotatingLogoutHandler"


def test_limits_default_and_reach_the_authenticator(hub_config):
    """The hub configuration sets the limits on RosterAuthenticator (defaults 10 in 900 s)."""
    assert hub_config.RosterAuthenticator.login_attempts == 10
    assert hub_config.RosterAuthenticator.login_window == 900
    authenticator = RosterAuthenticator(config=hub_config, check_passwords_on_startup=False)
    assert (authenticator.limiter.attempts, authenticator.limiter.window) == (10, 900)


def test_limits_are_configurable(deployment_settings):
    """internal.login_attempts and internal.login_window override the defaults."""
    cfg = validate({"internal": {"login_attempts": 5, "login_window": 60}},
                   base=configurer.config_from_settings(deployment_settings))
    c = Config()
    configurer.update_auth(c, cfg)
    assert (c.RosterAuthenticator.login_attempts, c.RosterAuthenticator.login_window) == (5, 60)


@pytest.mark.parametrize(("key", "value", "match"), [
    ("login_attempts", 0, "at least 1"),
    ("login_window", -5, "at least 1"),
    ("login_attempts", "10", "must be int"),
    ("login_window", True, "must be int"),
    ("login_windw", 60, r"internal\.login_windw"),
])
def test_bad_limits_are_refused(key, value, match):
    """A limit that is not a whole number of at least 1, or a misspelt key, is refused by name."""
    with pytest.raises(HubConfigError, match=match):
        validate({"internal": {key: value}})


@pytest.fixture
def staffed(tmp_path, clock) -> RosterAuthenticator:
    """Return an authenticator of a deployment with an instructor, an examiner and a learner."""
    roster.save(tmp_path, {"prof": roster.Member("prof", "instructor"),
                           "exa": roster.Member("exa", "examiner"),
                           "ada": roster.Member("ada", "learner", ("alpha",))})
    authenticator = RosterAuthenticator(
        dbm_path=str(tmp_path / "passwords.dbm"), create_users=True,
        check_passwords_on_startup=False, min_password_length=8, login_attempts=3,
        login_window=60, home=str(tmp_path), allowed_users={"prof", "exa", "ada"})
    authenticator.limiter.clock = clock
    return authenticator


def test_staff_cannot_be_claimed_at_first_login(staffed):
    """The first visitor naming an instructor or examiner chooses no password; a learner may."""
    for name in ("prof", "exa"):
        h = handler("10.0.0.1")
        assert asyncio.run(staffed.authenticate(h, {"username": name, "password": "mine-now!"})) is None
        assert "not activated" in h.custom_login_error
        assert not staffed.has_password(name)
    assert login(staffed, "10.0.0.2", "ada", "ada-password") == "ada"


def test_learners_too_need_a_code_when_first_use_is_off(staffed):
    """With learner_first_use off, a learner's first login is refused as well."""
    staffed.learner_first_use = False
    assert login(staffed, "10.0.0.2", "ada", "ada-password") is None


def test_activation_sets_the_password_once(staffed):
    """The right code sets the password; the same code never works again, and login works."""
    code, _ = staffed.activations.issue(["prof"], hours=1)["prof"]
    assert staffed.activate(handler("10.0.0.1"), "prof", code, "short").startswith("Choose a")
    assert staffed.activate(handler("10.0.0.1"), "prof", code, "prof-password") is None
    assert login(staffed, "10.0.0.1", "prof", "prof-password") == "prof"
    assert staffed.activate(handler("10.0.0.3"), "prof", code, "other-password") \
        .startswith("The activation code is wrong")
    assert login(staffed, "10.0.0.3", "prof", "other-password") is None


def test_wrong_codes_count_as_failed_logins(staffed):
    """Guessing codes is limited like guessing passwords (HTTP 429 at the limit)."""
    staffed.activations.issue(["prof"], hours=1)
    for _ in range(3):
        assert staffed.activate(handler("10.0.0.1"), "prof", "AAAA-AAAA-AAAA-AAAA",
                                "prof-password") is not None
    with pytest.raises(web.HTTPError) as refused:
        staffed.activate(handler("10.0.0.1"), "prof", "AAAA-AAAA-AAAA-AAAA", "prof-password")
    assert refused.value.status_code == 429


def test_activation_answers_alike_for_unknown_and_first_use_names(staffed):
    """Names not enrolled, and first-use learners, get the wrong-code answer (no enumeration)."""
    for name in ("nobody", "ada"):
        assert staffed.activate(handler(f"10.0.1.{len(name)}"), name, "AAAA-AAAA-AAAA-AAAA",
                                "some-password").startswith("The activation code is wrong")


def test_activate_page_is_registered(staffed):
    """The hub serves /activate beside /login and /logout."""
    paths = [path for path, _ in staffed.get_handlers(None)]
    assert "/activate" in paths and "/login" in paths
