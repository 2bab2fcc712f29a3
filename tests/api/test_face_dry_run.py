"""A write to a compatible face that asks for a dry run is a 400, and nothing is done.

The faces ignore query parameters they do not read, as their published clients add cache
busters of their own; none of them has a dry run, so ``?dry_run=true`` was ignored too and
``DELETE /v4/clients/1?dry_run=true`` erased the person. A read may still carry one, and a
write its cache busters."""

from __future__ import annotations

import pytest
from synerise_client import NS, Synerise, synerise_error

PURGE = "/api/v2/customer/purgedata"
CUSTOMER = {
    "brand_id": 7,
    "primary_id": "c-1",
    "channel_id": "email",
    "customer_link_channel": "ann@example.com",
}
ASKS = ["dry_run=true", "dryRun=1", "dry-run", "DRYRUN=yes", "_=17&dry_run=false"]


@pytest.fixture
def store_settings(tmp_path) -> dict[str, str]:
    """SQLite only: the refusal is in the blueprint, before any store is asked."""
    return {"store": f"sqlite:///{tmp_path / 'api.db'}"}


def refused(response, error_of, method: str) -> list[str]:
    error = error_of(response, 400, "invalid_input")
    problem = f"{method} on this route has no dry run: nothing was done"
    assert all(messages == [problem] for messages in error["details"]["fields"].values())
    return list(error["details"]["fields"])


@pytest.mark.parametrize("query", ASKS)
def test_a_synerise_delete_asking_for_a_dry_run_erases_nothing(client, query):
    sy = Synerise(client)
    created = sy.create(customId="c1", email="ann@x.io")
    path = f"/v4/clients/{created['clientId']}?{query}"
    response = sy.client.delete(path, headers=sy.headers)
    assert len(refused(response, synerise_error, "DELETE")) == 1  # in Synerise's shape
    assert sy.by("customId", "c1")["clientId"] == created["clientId"]


@pytest.mark.parametrize("query", ASKS)
def test_an_omnidesk_purge_asking_for_a_dry_run_erases_nothing(client, api, error_of, query):
    assert client.post("/api/v2/customer", json=CUSTOMER).status_code == 200
    body = {"external_id": "c-1", "brand_id": 7}
    assert refused(client.delete(f"{PURGE}?{query}", json=body), error_of, "DELETE")
    assert api.profile("7", "customId:c-1").status_code == 200


def test_a_face_write_asking_for_a_dry_run_writes_nothing(client, api, error_of):
    visitor = {"folderId": NS, "browserId": "b1", "externalSystemUserId": "u1"}
    assert refused(client.post("/sync?dry_run=true", json=visitor), error_of, "POST")
    assert refused(client.post("/api/v2/customer?dryRun=1", json=CUSTOMER), error_of, "POST")
    assert api.profile(NS, "browserId:b1").status_code == 404
    assert api.profile("7", "customId:c-1").status_code == 404


def test_a_read_may_carry_one_and_a_write_its_cache_busters(client):
    sy = Synerise(client)
    created = sy.create(customId="c1", email="ann@x.io")
    read = client.get(f"/v4/clients/{created['clientId']}?dry_run=true", headers=sy.headers)
    assert read.status_code == 200, read.json
    erased = client.delete(f"/v4/clients/{created['clientId']}?_=17", headers=sy.headers)
    assert erased.status_code < 300, erased.get_data()
    assert sy.by("customId", "c1") is None
