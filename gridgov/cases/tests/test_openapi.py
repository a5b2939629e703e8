from django.test import Client


def test_openapi_lists_the_cases_api(db):
    r = Client().get("/api/openapi.json")
    assert r.status_code == 200
    paths = set(r.json()["paths"])
    assert {"/api/cases/", "/api/cases/{case_id}/actions/{action}", "/api/cases/duplicates"} <= paths


def test_common_error_responses_are_declared(db):
    """gridgov.core.openapi: 401/403 on signed-in operations, 404 with path parameters, 400/422
    with input, 429 on the rate-limited public POSTs; an operation's own declaration is kept."""
    paths = Client().get("/api/openapi.json").json()["paths"]
    assert set(paths["/api/health"]["get"]["responses"]) == {"200"}
    submit = paths["/api/cases/"]["post"]["responses"]
    assert {"201", "200", "400", "401", "403", "422", "429"} <= set(submit)
    assert "429" in paths["/api/cases/{case_id}/rate"]["post"]["responses"]
    assert "429" not in paths["/api/cases/{case_id}/actions/{action}"]["post"]["responses"]
    assert {"404", "422"} <= set(paths["/api/cases/{case_id}"]["get"]["responses"])
    assert "404" not in paths["/api/cases/held"]["get"]["responses"]
