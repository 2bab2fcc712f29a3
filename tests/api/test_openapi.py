"""The OpenAPI document is generated from the schemas, and Swagger UI works offline."""

from __future__ import annotations


def test_openapi_document_describes_every_native_route(client):
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert {
        "/healthz": {"get"},
        "/v1/{ns}/links": {"post"},
        "/v1/{ns}/conflicts": {"get"},
        "/v1/{ns}/identifiers/{type}/{value}": {"get"},
        "/v1/{ns}/profiles/{profile_id}": {"get", "delete"},
        "/v1/{ns}/purges": {"get"},
        "/v1/{ns}/profiles/{profile_id}/attributes": {"patch"},
        "/v1/{ns}/me": {"get"},
    }.items() <= {path: set(ops) - {"parameters"} for path, ops in spec["paths"].items()}.items()


def test_openapi_documents_the_link_batch_and_the_error_shape(client):
    spec = client.get("/openapi.json").json
    schemas = spec["components"]["schemas"]
    assert {"items", "source", "request_id"} <= set(schemas["LinkBatch"]["properties"])
    assert schemas["ItemResult"]["properties"]["outcome"]["enum"] == [
        "created",
        "linked",
        "merged",
        "moved",
        "noop",
        "conflict",
    ]
    links = spec["paths"]["/v1/{ns}/links"]["post"]
    assert "400" in links["responses"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "error" in schemas["Error"]["properties"]


def test_swagger_ui_loads_its_assets_from_this_server(client):
    page = client.get("/docs").get_data(as_text=True)
    assert "/docs/assets/swagger-ui-bundle.js" in page and "/openapi.json" in page
    asset = client.get("/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and b"SwaggerUIBundle" in asset.get_data()


def test_the_document_says_which_routes_need_no_token(client):
    """/healthz answers without credentials in every mode (app/api/auth.py); the document says
    so rather than inheriting the bearer requirement (found by fuzzing)."""
    paths = client.get("/openapi.json").json["paths"]
    assert paths["/healthz"]["get"]["security"] == []
    assert "security" not in paths["/v1/{ns}/links"]["post"]  # the document's default: bearer


def test_the_document_says_what_the_viewer_reads(client):
    """The conflicts naming a profile, and who is calling (issue 20's viewer)."""
    spec = client.get("/openapi.json").json
    conflicts = spec["paths"]["/v1/{ns}/conflicts"]["get"]
    [profile] = [p for p in conflicts["parameters"] if p["name"] == "profile"]
    assert (profile["in"], profile["schema"]["type"]) == ("query", "integer")
    assert "404" in conflicts["responses"]
    me = spec["components"]["schemas"]["Caller"]
    assert set(me["properties"]) == {"name", "namespace", "rights", "may_write"}
