import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings

from gridgov.cases import notify
from gridgov.core import crypto
from gridgov.cases.models import Notification, Subscription


@pytest.fixture
def server():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body), "raw": body})
            answer = b'{"errcode": 0}' if "fail" not in self.path else b""
            self.send_response(200 if "fail" not in self.path else 500)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", received
    httpd.shutdown()
    httpd.server_close()


def test_webhook_posts_signed_json(people, server):
    url, received = server
    with override_settings(CASES_NOTIFY_CHANNELS="webhook", CASES_WEBHOOK_URL=url + "/hook", CASES_WEBHOOK_SECRET="s3"):
        rows = notify.queue(people["gl"], "assigned", "新事件待受理", "路灯")
        assert [r.channel for r in rows] == ["webhook"]
        assert notify.deliver() == {"sent": 1, "failed": 0, "retry": 0}
    got = received[0]
    assert got["body"]["title"] == "新事件待受理" and got["body"]["recipient"] == "gl"
    expected = "sha256=" + hmac.new(b"s3", got["raw"], hashlib.sha256).hexdigest()
    assert got["headers"]["X-Gridgov-Signature"] == expected
    assert Notification.objects.get(pk=rows[0].pk).state == "sent"
    assert notify.deliver() == {"sent": 0, "failed": 0, "retry": 0}  # nothing twice


def test_failures_retry_then_fail(people, server):
    url, _ = server
    with override_settings(CASES_NOTIFY_CHANNELS="webhook", CASES_WEBHOOK_URL=url + "/fail", CASES_NOTIFY_MAX_ATTEMPTS=2):
        (n,) = notify.queue(people["gl"], "assigned", "x")
        assert notify.deliver() == {"sent": 0, "failed": 0, "retry": 1}
        assert notify.deliver() == {"sent": 0, "failed": 1, "retry": 0}
    n.refresh_from_db()
    assert n.state == "failed" and n.attempts == 2 and "HTTP" in n.error or "500" in n.error


def test_sms_and_wechat_adapters(people, server):
    url, received = server
    u = people["resident"]
    u.phone_enc = crypto.encrypt("13800138000")
    u.save()
    Subscription.objects.create(user=u, channel="wechat", address="openid-1")
    with override_settings(
        CASES_NOTIFY_CHANNELS="sms,wechat", CASES_SMS_GATEWAY_URL=url + "/sms", CASES_SMS_TEMPLATE="T1",
        CASES_WECHAT_API_BASE=url, CASES_WECHAT_ACCESS_TOKEN="tok", CASES_WECHAT_TEMPLATE_ID="tpl",
    ):
        rows = notify.queue(u, "progress", "事件已受理", "c1")
        assert sorted(r.channel for r in rows) == ["sms", "wechat"]
        assert notify.queue(people["gl"], "x", "y") == []  # no phone, no openid: no row
        assert notify.deliver()["sent"] == 2
    by_path = {r["path"].split("?")[0]: r for r in received}
    assert by_path["/sms"]["body"]["phone"] == "13800138000" and by_path["/sms"]["body"]["template"] == "T1"
    wx = by_path["/cgi-bin/message/template/send"]
    assert wx["body"]["touser"] == "openid-1" and "access_token=tok" in wx["path"]
    from gridgov.core.models import AuditEntry

    assert AuditEntry.objects.filter(action="notify_sms").count() == 1


def test_outbox_is_written_with_the_change_and_delivered_after_commit(people, report, django_capture_on_commit_callbacks):
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            case = report()
        assert callbacks
    finally:
        HUEY.immediate = False
    rows = Notification.objects.filter(case=case)
    assert rows.filter(recipient=people["gl"], kind="assigned").exists()
    assert set(rows.values_list("state", flat=True)) == {"sent"}
