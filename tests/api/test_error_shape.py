"""Errors the framework raises (unknown route, wrong method, wrong content) use the same shape
as ours; the route-specific errors are asserted where each route is tested."""

from __future__ import annotations


def test_an_unknown_route_is_a_404_in_the_error_shape(client, error_of):
    error_of(client.get("/v2/nothing-here"), 404, "not_found")


def test_a_wrong_method_is_a_405_in_the_error_shape(client, error_of):
    response = client.delete("/v1/shop/links")
    error_of(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_a_body_that_is_not_json_is_a_400_saying_so(client, error_of):
    response = client.post("/v1/shop/links", data="items=1", content_type="text/plain")
    error = error_of(response, 400, "invalid_input")
    assert error["details"]["fields"] == {"body": ["not JSON: Expecting value at line 1 column 1"]}
