"""Profiles of a chosen size for the lineage viewer (issue 20), seeded through the real HTTP API
(`POST /v1/{ns}/links`) in the requests a web shop, an app and a CRM would send:
tests/e2e/test_viewer.py draws them, benchmarks/viewer.py times drawing them.

Each function builds one profile of exactly ``n`` identifiers in namespace ``ns``, checks its
size with `GET /v1/{ns}/profiles/{id}`, and answers a `Seeded` naming what a test looks for.
Identifier values are fixed: build one profile per namespace. ``token`` is the server's admin
token (or an API key), None for a server in local open mode.

- `hub_profile`: a customer seen on many browsers: `customId:C-1` linked to one email, two
  phones and n - 4 browserIds (a star around the customId).
- `merged_profile`: ``parts`` anonymous profiles (a uuid and its browsers each), joined through
  one login email, then a customId from the CRM and a second customId the rules refuse.
- `small_profile`: `merged_profile` of 10 identifiers in 2 parts (one merge), with an extra link
  between two browsers, ended (the profile holds together without it).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from tests.e2e.test_server import Server

NS = "shop"
BATCH = 250  # items per request
HUB = "customId:C-1"
LOGIN_EMAIL = "email:ann.login@example.com"
CUSTOMER_ID = "customId:C-7"
REFUSED_CUSTOMER_ID = "customId:C-8"  # a second customId for the login email: a conflict
PHONES = ("phone:+48601234001", "phone:+48601234002")
NEW = frozenset({"created", "linked"})  # the first item of new identifiers, then the rest


@dataclass(frozen=True)
class Seeded:
    """One seeded profile; keys are `type:value` as the lineage names identifiers."""

    ns: str
    profile_id: int
    identifiers: int
    hub: str | None = None
    login_email: str | None = None
    merge_request_ids: tuple[str, ...] = ()
    conflict_request_id: str | None = None  # its refused item names this profile
    ended_link_id: int | None = None


def hub_profile(server: Server, n: int, *, token: str | None = None, ns: str = NS) -> Seeded:
    """`customId:C-1` + an email + 2 phones + n - 4 browsers: n identifiers (n >= 5)."""
    if n < 5:
        raise ValueError(f"a hub profile needs 5 identifiers or more, not {n}")
    email = "email:hub@example.com"
    crm = [(HUB, email), *((HUB, phone) for phone in PHONES)]
    post(server, token, ns, crm, source="crm", request_id="hub-crm", outcomes=NEW)
    browsers = [(HUB, browser("h", k)) for k in range(n - 4)]
    for start in range(0, len(browsers), BATCH):
        chunk = browsers[start : start + BATCH]
        post(server, token, ns, chunk, source="web", request_id=f"hub-web-{start}", outcomes=NEW)
    profile_id = checked_size(server, token, ns, HUB, n)
    return Seeded(ns, profile_id, n, hub=HUB, login_email=email)


def merged_profile(
    server: Server, n: int, parts: int = 4, *, token: str | None = None, ns: str = NS
) -> Seeded:
    """``parts`` anonymous profiles of a uuid and browsers, sent by "web" and "app" in turn
    (requests `anon-0`...), each item a uuid and one browser; then one login email linked to
    each uuid in turn (`login-0` links it to the first part, `login-1`... merge each other
    part in: parts - 1 merges); then the CRM's customId for that email (`crm-1`) and a second
    customId for it (`crm-2`), refused as `unique_type:customId`.

    Exactly n identifiers: ``parts`` uuids, the email, the customId and n - parts - 2
    browsers, dealt to the parts in turn (sizes differ by one at most); n >= 2 * parts + 2,
    so that every part has a browser."""
    if parts < 2 or n < 2 * parts + 2:
        raise ValueError(f"{parts} parts need 2 or more, and {2 * parts + 2} identifiers or more")
    uuids = [f"uuid:00000000-0000-4000-8000-{k:012d}" for k in range(parts)]
    browsers = [browser("m", k) for k in range(n - parts - 2)]
    for k, uuid in enumerate(uuids):
        items = [(uuid, b) for b in browsers[k::parts]]
        source = ("web", "app")[k % 2]
        post(server, token, ns, items, source=source, request_id=f"anon-{k}", outcomes=NEW)
    logins = [f"login-{k}" for k in range(parts)]
    for k, (uuid, request_id) in enumerate(zip(uuids, logins, strict=True)):
        joined = {"merged" if k else "linked"}
        post(server, token, ns, [(LOGIN_EMAIL, uuid)], source="web", request_id=request_id,
             outcomes=joined)  # fmt: skip
    crm = [(CUSTOMER_ID, LOGIN_EMAIL)]
    post(server, token, ns, crm, source="crm", request_id="crm-1", outcomes={"linked"})
    refused = [(REFUSED_CUSTOMER_ID, LOGIN_EMAIL)]
    post(server, token, ns, refused, source="crm", request_id="crm-2", outcomes={"conflict"})
    profile_id = checked_size(server, token, ns, LOGIN_EMAIL, n)
    merges = tuple(logins[1:])
    return Seeded(ns, profile_id, n, login_email=LOGIN_EMAIL, merge_request_ids=merges,
                  conflict_request_id="crm-2")  # fmt: skip


def small_profile(server: Server, *, token: str | None = None, ns: str = NS) -> Seeded:
    """10 identifiers: `merged_profile` in 2 parts (one merge, `login-1`), plus a link between
    two browsers of the first part (`kiosk`), ended: both still hang off its uuid."""
    seeded = merged_profile(server, 10, parts=2, token=token, ns=ns)
    kiosk = (browser("m", 0), browser("m", 2))
    post(server, token, ns, [kiosk], source="web", request_id="kiosk", outcomes={"linked"})
    lineage = call(server, token, "GET", f"/v1/{ns}/profiles/{seeded.profile_id}/lineage")
    [link_id] = [k["id"] for k in lineage["links"] if k["request_id"] == "kiosk"]
    reason = {"reason": "a shop kiosk, not the same person"}
    ended = call(server, token, "POST", f"/v1/{ns}/links/{link_id}/end", reason)
    assert not ended["split"], ended
    return replace(seeded, ended_link_id=link_id)


def browser(prefix: str, k: int) -> str:
    return f"browserId:{prefix}-{k:05d}"


def post(
    server: Server,
    token: str | None,
    ns: str,
    items: Sequence[tuple[str, ...]],
    *,
    source: str,
    request_id: str,
    outcomes: Collection[str] = (),
) -> list[dict]:
    """One request linking each item's `type:value` keys; with ``outcomes``, the only ones
    its items may get."""
    body = {
        "items": [{"identifiers": [identifier(key) for key in item]} for item in items],
        "source": source,
        "request_id": request_id,
    }
    results = call(server, token, "POST", f"/v1/{ns}/links", body)["results"]
    wrong = [result for result in results if outcomes and result["outcome"] not in outcomes]
    assert not wrong, (request_id, sorted(outcomes), wrong[:3])
    return results


def identifier(key: str) -> dict[str, str]:
    type_, _, value = key.rpartition(":")
    return {"type": type_, "value": value}


def call(server: Server, token: str | None, method: str, path: str, body=None) -> dict:
    status, answer = server.request(method, path, body, token=token)
    assert status == 200, (method, path, status, answer)
    return answer


def checked_size(server: Server, token: str | None, ns: str, key: str, n: int) -> int:
    """The id of the profile of ``key``, once it holds exactly n identifiers."""
    type_, _, value = key.rpartition(":")
    profile = call(server, token, "GET", f"/v1/{ns}/identifiers/{type_}/{value}")
    assert len(profile["identifiers"]) == n, (key, len(profile["identifiers"]), n)
    return profile["id"]
