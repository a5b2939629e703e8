from django.test import Client


def test_openapi_lists_the_cases_api(db):
    r = Client().get("/api/openapi.json")
    assert r.status_code == 200
    paths = set(r.json()["paths"])
    assert {"/api/cases/", "/api/cases/{case_id}/actions/{action}", "/api/cases/duplicates"} <= paths
