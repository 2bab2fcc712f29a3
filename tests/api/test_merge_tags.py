"""Which merge a link is tagged with when one request makes several merges, on both stores:
the merge that first put its two ends' profiles together, so that undoing a later merge of
the same request ends only what that merge joined."""

from __future__ import annotations

NS = "shop"
A = ("browserId:a1", "browserId:a2", "browserId:a3")
C = ("browserId:c1", "browserId:c2")
D = ("browserId:d0", *[f"browserId:d{n}" for n in range(1, 8)])


def pid_of(api, text: str) -> int:
    response = api.profile(NS, text)
    assert response.status_code == 200, response.json
    return response.json["id"]


def lineage(api, text: str) -> dict:
    return api.get(f"/v1/{NS}/profiles/{pid_of(api, text)}/lineage").json


def merge_ids(body: dict) -> dict[frozenset[str], int | None]:
    """The merge each active link is tagged with, by its pair of identifiers."""
    return {frozenset((k["a"], k["b"])): k["merge_id"] for k in body["links"] if k["active"]}


def link_three_profiles_in_one_request(api) -> tuple[int, int, int]:
    """A (3 identifiers) absorbs C (2), then D (8) absorbs A: two merges, one request, whose
    third item links A and C again once they are one. Returns the ids of A, C and D."""
    api.link(NS, (A[0], A[1]), (A[0], A[2]))
    api.link(NS, C)
    api.link(NS, *[(D[0], d) for d in D[1:]])
    ids = pid_of(api, A[0]), pid_of(api, C[0]), pid_of(api, D[0])
    api.link(NS, (A[0], C[0]), (A[1], D[1]), (A[2], C[1]))
    return ids


def test_a_link_between_two_profiles_a_request_merged_carries_the_merge_that_joined_them(api):
    a, c, d = link_three_profiles_in_one_request(api)
    body = lineage(api, A[0])
    first, second = sorted(body["merges"], key=lambda m: m["id"])
    assert (first["survivor"], first["absorbed"]) == (a, c)
    assert (second["survivor"], second["absorbed"]) == (d, a)
    tags = merge_ids(body)
    assert tags[frozenset((A[0], C[0]))] == first["id"]
    assert tags[frozenset((A[1], D[1]))] == second["id"]
    # A and C were one already (merge 1) when this link was added: not merge 2's
    assert tags[frozenset((A[2], C[1]))] == first["id"]


def test_undoing_the_later_merge_of_a_request_gives_back_the_earlier_merge_whole(api):
    a, c, d = link_three_profiles_in_one_request(api)
    second = max(lineage(api, A[0])["merges"], key=lambda m: m["id"])
    response = api.client.post(f"/v1/{NS}/merges/{second['id']}/undo", json={"reason": "wrong"})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["split"] is True
    assert sorted(p["id"] for p in body["profiles"]) == sorted((a, d))
    assert [(b["a"], b["b"]) for b in body["bans"]] == [(A[1], D[1])]
    assert {pid_of(api, t) for t in A + C} == {a}
    assert {pid_of(api, t) for t in D} == {d}
    links = lineage(api, A[0])["links"]
    ended = {frozenset((k["a"], k["b"])): k["end_reason"] for k in links if not k["active"]}
    assert ended == {frozenset((A[1], D[1])): "wrong"}
    assert frozenset((A[2], C[1])) in merge_ids(lineage(api, A[0]))


def test_links_the_later_merge_joined_carry_it_and_its_undo_ends_them_all(api):
    api.link(NS, (A[0], A[1]), (A[0], A[2]))
    api.link(NS, C)
    api.link(NS, *[(D[0], d) for d in D[1:]])
    a = pid_of(api, A[0])
    # after merge 2 (D absorbs A, which holds C): C-D and A-D links are merge 2's
    api.link(NS, (A[0], C[0]), (A[1], D[1]), (A[2], C[1]), (C[0], D[2]), (A[2], D[3]))
    first, second = sorted(m["id"] for m in lineage(api, A[0])["merges"])
    tags = merge_ids(lineage(api, A[0]))
    assert [tags[frozenset(p)] for p in [(A[0], C[0]), (A[2], C[1])]] == [first, first]
    joined_by_second = [(A[1], D[1]), (C[0], D[2]), (A[2], D[3])]
    assert [tags[frozenset(p)] for p in joined_by_second] == [second] * 3
    body = api.client.post(f"/v1/{NS}/merges/{second}/undo", json={}).json
    assert sorted((b["a"], b["b"]) for b in body["bans"]) == sorted(joined_by_second)
    assert {pid_of(api, t) for t in A + C} == {a} != {pid_of(api, t) for t in D}
