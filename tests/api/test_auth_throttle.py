"""Guessing credentials costs the guesser, not the server: a client address that got too many
credentials wrong lately gets 429 before anything it sends is hashed, whatever kind of
credential it tries; a wrong secret costs one scrypt whatever key its id names, and wrong
secrets from everywhere get a bounded share of a process's time; a key's id is written one way
only; and a 429 names the rate the operator configured, not one process's share of it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import jwt
import pytest
from apitools import assert_error, identifiers
from synerise_client import synerise_error

from app.api.auth import FAILED_CREDENTIALS
from app.api.ratelimit import FailedCredentials
from app.cli.serve import _Server
from app.settings import Settings
from graph import keys as keys_module
from graph.keys import HashingBusy, _Hashing

TOKEN = "s3cret-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
GUESSER, NEIGHBOUR = "192.0.2.1", "192.0.2.2"
JUNK = "x" * 43
LOGIN = "/uauth/v2/auth/login/profile"
SHARE = keys_module._WRONG_SECRETS_SHARE


@pytest.fixture(autouse=True)
def unbounded_hashing(monkeypatch) -> None:
    """Wrong secrets may take all of a process's time, but in the tests of that bound, which
    set it back: the others guess faster than it allows."""
    monkeypatch.setattr(keys_module, "_WRONG_SECRETS_SHARE", 1e6)


@pytest.fixture
def secured(make_app):
    return make_app(admin_token=TOKEN)


@pytest.fixture
def scrypts(monkeypatch) -> list[str]:
    """The salts of the scrypts computed while the test runs (clear it once keys are made)."""
    salts: list[str] = []
    hash_secret = keys_module.hash_secret

    def counted(secret: str, salt: str) -> str:
        salts.append(salt)
        return hash_secret(secret, salt)

    monkeypatch.setattr(keys_module, "hash_secret", counted)
    return salts


def key_for(app, rights: str = "read,write", namespace: str = "shop") -> tuple[int, str]:
    key, text = app.extensions["idgraph.keys"].create(namespace, rights.split(","))
    return key.id, text


def get(app, address: str, token: str | None = None, path: str = "/v1/shop/conflicts"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().get(path, headers=headers, environ_base={"REMOTE_ADDR": address})


def guess_until_throttled(app, address: str, key_id: int) -> None:
    for _ in range(FAILED_CREDENTIALS):
        assert_error(get(app, address, f"idg_{key_id}_{JUNK}"), 401, "unauthorized")


def test_an_address_that_guessed_too_often_waits_before_anything_is_hashed(secured, scrypts):
    key_id, text = key_for(secured)
    scrypts.clear()
    no_credentials = {get(secured, GUESSER).status_code for _ in range(2 * FAILED_CREDENTIALS)}
    assert no_credentials == {401}  # not a guess: nothing to check
    guess_until_throttled(secured, GUESSER, key_id)
    assert len(scrypts) == FAILED_CREDENTIALS  # each wrong guess cost one scrypt, no more
    for sent in (f"idg_{key_id}_{JUNK}", text, TOKEN):  # even the right key: it would cost one
        response = get(secured, GUESSER, sent)
        error = assert_error(response, 429, "too_many_requests")
        assert f"address {GUESSER} got too many credentials wrong" in error["message"]
        assert f"at most {FAILED_CREDENTIALS} in 60 s" in error["message"]
        assert int(response.headers["Retry-After"]) >= 1
    assert len(scrypts) == FAILED_CREDENTIALS
    assert get(secured, NEIGHBOUR, text).status_code == 200  # another address is not throttled


def test_an_ipv6_client_is_its_whole_64(secured):
    key_id, text = key_for(secured)
    guess_until_throttled(secured, "2001:db8:0:1::1", key_id)
    assert get(secured, "2001:db8:0:1::fffe", text).status_code == 429
    assert get(secured, "2001:db8:0:2::1", text).status_code == 200


def test_behind_a_proxy_each_client_is_counted_apart(make_app):
    app = make_app(admin_token=TOKEN, proxies=1)
    key_id, text = key_for(app)
    client = app.test_client()
    proxy = {"REMOTE_ADDR": "127.0.0.1"}  # nginx on the same machine, for every client

    def through_proxy(forwarded: str, token: str):
        headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": forwarded}
        return client.get("/v1/shop/conflicts", headers=headers, environ_base=proxy)

    for number in range(FAILED_CREDENTIALS):  # what a client writes itself is not believed
        answer = through_proxy(f"203.0.113.{number}, {GUESSER}", f"idg_{key_id}_{JUNK}")
        assert answer.status_code == 401
    assert through_proxy(f"203.0.113.99, {GUESSER}", text).status_code == 429
    assert through_proxy(NEIGHBOUR, text).status_code == 200
    assert through_proxy(NEIGHBOUR, TOKEN).status_code == 200


def bearer_key(app, key_id: int):
    return get(app, GUESSER, f"idg_{key_id}_{JUNK}")


def admin_token(app, key_id: int):
    return get(app, GUESSER, "not-the-admin-token")


def session_token(app, key_id: int):
    now = datetime.now(UTC)
    claims = {"ns": "shop", "sub": "x", "rights": ["read"], "iat": now, "exp": now}
    forged = jwt.encode(
        claims, "not-its-secret" * 4, algorithm="HS256", headers={"kid": str(key_id)}
    )
    return get(app, GUESSER, forged)


def key_in_url(app, key_id: int):
    return get(app, GUESSER, path=f"/v1/shop/links?key=idg_{key_id}_{JUNK}")


def synerise_login(app, key_id: int):
    client = app.test_client()
    return client.post(
        LOGIN, json={"apiKey": f"idg_{key_id}_{JUNK}"}, environ_base={"REMOTE_ADDR": GUESSER}
    )


@pytest.mark.parametrize(
    "wrong",
    [bearer_key, admin_token, session_token, key_in_url, synerise_login],
    ids=lambda wrong: wrong.__name__,
)
def test_every_kind_of_wrong_credential_counts(secured, wrong: Callable):
    key_id, text = key_for(secured)
    for _ in range(FAILED_CREDENTIALS):
        assert wrong(secured, key_id).status_code == 401
    assert wrong(secured, key_id).status_code == 429  # Synerise's login: in Synerise's shape
    assert_error(get(secured, GUESSER, text), 429, "too_many_requests")


def test_synerise_login_waits_in_synerise_shape(secured, scrypts):
    key_id, text = key_for(secured)
    scrypts.clear()
    guess_until_throttled(secured, GUESSER, key_id)
    client = secured.test_client()
    response = client.post(LOGIN, json={"apiKey": text}, environ_base={"REMOTE_ADDR": GUESSER})
    synerise_error(response, 429, "too_many_requests")
    assert int(response.headers["Retry-After"]) >= 1
    assert len(scrypts) == FAILED_CREDENTIALS


def test_a_client_that_proved_its_credential_keeps_working_from_a_throttled_address(secured):
    """A neighbour behind the same proxy or NAT as a guesser keeps working with what it has
    shown to be right: neither costs a scrypt, and no guess can hit either."""
    key_id, proven = key_for(secured)
    assert get(secured, GUESSER, proven).status_code == 200  # verified once
    client = secured.test_client()
    login = client.post(LOGIN, json={"apiKey": proven}, environ_base={"REMOTE_ADDR": GUESSER})
    session = login.json["token"]
    _, fresh = key_for(secured)
    guess_until_throttled(secured, GUESSER, key_id)
    assert get(secured, GUESSER, proven).status_code == 200
    assert get(secured, GUESSER, session).status_code == 200
    assert get(secured, GUESSER, fresh).status_code == 429  # would cost a scrypt
    assert get(secured, GUESSER, TOKEN).status_code == 429  # could be guessed


def test_a_real_key_revoked_or_out_of_place_is_no_guess_and_costs_one_scrypt(secured, scrypts):
    revoked_id, revoked = key_for(secured)
    _, reader = key_for(secured, "read")
    secured.extensions["idgraph.keys"].revoke(revoked_id)
    scrypts.clear()
    for _ in range(2 * FAILED_CREDENTIALS):
        assert_error(get(secured, GUESSER, revoked), 401, "unauthorized")
        in_url = get(secured, GUESSER, path=f"/v1/shop/conflicts?key={reader}")  # collect only
        assert_error(in_url, 401, "unauthorized")
    assert len(scrypts) == 2  # each shown right once, then remembered
    _, fresh = key_for(secured)
    assert get(secured, GUESSER, fresh).status_code == 200  # the address is not throttled


def test_a_wrong_secret_costs_one_scrypt_whatever_its_id_names(secured, scrypts):
    live, _ = key_for(secured)
    revoked, _ = key_for(secured)
    secured.extensions["idgraph.keys"].revoke(revoked)
    costs = {}
    for whose, key_id in {"live": live, "revoked": revoked, "unknown": 10**17}.items():
        scrypts.clear()
        assert_error(get(secured, GUESSER, f"idg_{key_id}_{JUNK}"), 401, "unauthorized")
        costs[whose] = len(scrypts)
    assert costs == {"live": 1, "revoked": 1, "unknown": 1}


def test_wrong_secrets_from_everywhere_get_a_share_of_the_time_then_wait(
    make_app, monkeypatch, scrypts
):
    monkeypatch.setattr(keys_module, "_WRONG_SECRETS_SHARE", SHARE)
    app = make_app(admin_token=TOKEN)
    key_id, proven = key_for(app)
    assert get(app, NEIGHBOUR, proven).status_code == 200
    scrypts.clear()
    answers = []
    for number in range(1, 41):  # each from its own address: no address is throttled
        answers.append(get(app, f"198.51.100.{number}", f"idg_{key_id}_{JUNK}"))
        if answers[-1].status_code == 429:
            break
    error = assert_error(answers[-1], 429, "too_many_requests")
    assert "checking other credentials" in error["message"]
    assert answers[-1].headers["Retry-After"] == "1"
    assert len(scrypts) == len(answers) - 1  # the refused one hashed nothing
    assert get(app, NEIGHBOUR, proven).status_code == 200  # a proven key needs no hashing


def test_the_share_of_wrong_secrets_refills_and_right_ones_take_nothing(monkeypatch):
    now = [0.0]

    def scrypt(secret: str, salt: str) -> str:
        now[0] += 0.05
        return "right" if secret == "right" else "wrong"

    monkeypatch.setattr(keys_module, "hash_secret", scrypt)
    hashing = _Hashing(0.25, clock=lambda: now[0])
    assert all(hashing.check("right", "salt", "right") for _ in range(20))
    assert not any(hashing.check("junk", "salt", "right") for _ in range(5))  # 5 x 50 ms
    with pytest.raises(HashingBusy):
        hashing.check("right", "salt", "right")  # which cannot be known before hashing
    now[0] += 0.2  # 0.25 of 0.2 s: 50 ms
    assert not hashing.check("junk", "salt", "right")
    with pytest.raises(HashingBusy):
        hashing.check("junk", "salt", "right")


def test_a_key_id_is_written_in_canonical_decimal_only(secured):
    key_id, text = key_for(secured)
    secret = text.split("_", 2)[2]
    for padded in (f"idg_0{key_id}_{secret}", f"idg_00{key_id}_{secret}"):
        assert_error(get(secured, NEIGHBOUR, padded), 401, "unauthorized")
    assert get(secured, NEIGHBOUR, f"idg_{key_id}_{secret}").status_code == 200


def test_a_budget_of_failures_is_shared_by_the_processes_and_refills_over_its_window():
    now = [0.0]
    failures = FailedCredentials(10, 60.0, processes=2, clock=lambda: now[0])
    assert [failures.attempt("192.0.2.9") for _ in range(6)] == [0] * 5 + [12]
    failures.refund("192.0.2.9")  # a right credential gives its attempt back
    assert failures.attempt("192.0.2.9") == 0
    assert failures.attempt("192.0.2.9") == 12
    now[0] += 12
    assert failures.attempt("192.0.2.9") == 0
    assert failures.attempt("::ffff:192.0.2.9") > 0  # the same client, IPv4-mapped


def served_app(store_settings, **settings):
    """The app one worker of `idgraph serve` runs, for Settings from the environment."""
    server = _Server(
        Settings(**store_settings, admin_token=TOKEN, workers=2, threads=2, **settings)
    )
    return server.load()


def test_the_429_of_a_key_names_the_configured_rate_not_a_process_share(store_settings):
    app = served_app(store_settings, rate_limit=0.5, rate_burst=4)
    try:
        _, text = key_for(app)
        answers = [get(app, NEIGHBOUR, text) for _ in range(3)]  # 2 at once in each of 2
        assert [response.status_code for response in answers] == [200, 200, 429]
        error = assert_error(answers[2], 429, "too_many_requests")
        assert "over its rate of 0.5 requests per second" in error["message"]
    finally:
        app.extensions["idgraph.service"].store.close()


def test_the_429_of_a_collect_key_names_the_configured_rate_per_address(store_settings):
    app = served_app(store_settings, address_rate_limit=1.0, rate_limit=1000.0)
    try:
        _, text = key_for(app, "collect")
        client = app.test_client()
        links = {"items": [{"identifiers": identifiers("browserId:b1", "customId:c1")}]}
        # the store's first write (seconds on a slow Neo4j, when a token comes back every 2 s
        # here) is paid from another address first
        elsewhere = {"REMOTE_ADDR": "192.0.2.7"}
        first = client.post(f"/v1/shop/links?key={text}", json=links, environ_base=elsewhere)
        assert first.status_code == 200
        answers = [client.post(f"/v1/shop/links?key={text}", json=links) for _ in range(2)]
        assert [response.status_code for response in answers] == [200, 429]  # 2 at once, in 2
        error = assert_error(answers[1], 429, "too_many_requests")
        assert "over its rate of 1 requests per second" in error["message"]
    finally:
        app.extensions["idgraph.service"].store.close()
