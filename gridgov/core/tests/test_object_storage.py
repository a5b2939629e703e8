"""Photos and exports in an S3-compatible object store (GRIDGOV_S3_BUCKET, django-storages),
against a local S3-compatible server the test starts (moto's, from the dev dependencies): a
resident's photo goes to the bucket and comes back only through the page that checks who may
see the case; a finished export is kept there and downloaded by its owner."""

import socket

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gridgov.accounts.models import Duty, Role
from gridgov.cases.taxonomy import seed_taxonomy
from gridgov.cases.tests import images
from gridgov.testing import DLAT, DLON, LAT0, LON0, make_small_street, make_user

BUCKET = "gridgov-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(s3_server, settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    client.create_bucket(Bucket=BUCKET)
    opts = {"bucket_name": BUCKET, "endpoint_url": s3_server, "region_name": "us-east-1", "access_key": "test",
            "secret_key": "test", "default_acl": "private", "querystring_auth": True, "file_overwrite": False}
    settings.STORAGES = {**settings.STORAGES,
                         "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {**opts, "location": "media"}},
                         "exports": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {**opts, "location": "exports"}}}
    yield client
    for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])


def _keys(client, prefix):
    return [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


@pytest.mark.django_db
def test_photos_go_to_the_bucket_and_back_through_the_checked_page(s3, client, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"  # nothing may land here
    seed_taxonomy()
    n = make_small_street()
    resident = make_user("res", Role.RESIDENT)
    staff = make_user("sec1", Role.COMMUNITY_SECRETARY, [n["c1"]], Duty.SECRETARY)
    other = make_user("sec2", Role.COMMUNITY_SECRETARY, [n["c2"]], Duty.SECRETARY)
    client.force_login(resident)
    png = images.png()
    r = client.post("/api/cases/", {"text": "小区门口的路灯坏了", "lon": LON0 + DLON * 0.1, "lat": LAT0 + DLAT * 0.9,
                                    "photos": [SimpleUploadedFile("a.png", png, content_type="image/png")]},
                    HTTP_HOST="127.0.0.1")
    assert r.status_code == 201, r.content
    case_id = r.json()["id"]
    keys = _keys(s3, "media/cases/")
    assert len(keys) == 1 and not (tmp_path / "media").exists()
    stored = s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read()
    client.force_login(staff)
    url = client.get(f"/api/cases/{case_id}", HTTP_HOST="127.0.0.1").json()["photos"][0]["url"]
    assert url.startswith(f"/cases/{case_id}/photos/")
    got = client.get(url, HTTP_HOST="127.0.0.1")
    assert got.status_code == 200 and b"".join(got.streaming_content) == stored
    client.force_login(other)  # another community's secretary: not theirs
    assert client.get(url, HTTP_HOST="127.0.0.1").status_code == 404


@pytest.mark.django_db
def test_exports_are_kept_in_the_bucket(s3, tmp_path, settings):
    from gridgov.registry import exporters
    from gridgov.registry.models import ExportJob

    settings.DATA_DIR = tmp_path
    n = make_small_street()
    admin = make_user("admin1", Role.ADMIN, [n["street"]], Duty.STAFF)
    job = exporters.start_export(admin, "residents", "", enqueue=False)
    job = exporters.run_job(job.pk)
    assert job.state == ExportJob.DONE
    assert _keys(s3, "exports/") == [f"exports/{job.file}"]
    assert not list((tmp_path / "exports").iterdir())  # the part written here is gone
    fh = exporters.open_for(admin, job)
    assert fh.read(2) == b"PK"  # an xlsx (zip)
    fh.close()
    exporters.retire(job)
    assert _keys(s3, "exports/") == []
