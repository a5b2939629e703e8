"""Notifications: an outbox written in the transaction of the change, delivered after commit.

`queue(recipient, kind, title, body, case=...)` writes one `Notification` row per configured
channel that can reach the recipient (`CASES_NOTIFY_CHANNELS`, default console) and asks for
delivery when the transaction commits. `deliver(ids)` claims each pending row with a
compare-and-set (pending → sending), sends it through its channel and marks it sent, or back
to pending with the error until `CASES_NOTIFY_MAX_ATTEMPTS`, then failed.

`queue_to_phone(phone, kind, title, secret=...)` writes rows addressed to a phone number rather
than a user (a registration code: there is no account yet) for the channels that can reach a
number (console, sms); the number and the secret are kept encrypted in the payload, and the
secret is dropped from the row once sent.

Nothing personal is logged: the console channel logs the notification id, kind, case id and
recipient id (a masked number for a phone), never names, titles, texts or codes; a code sent to
a phone is shown on the server's stdout (not a log record) only with DEBUG and no SMS gateway
(development).

Channels share one interface, `send(notification) -> None` (raise on failure):
console (log), webhook (HTTP POST JSON, optional HMAC-SHA256 signature header), sms (a JSON
HTTP gateway: sign, template, phone, params), wechat (template message API with a configured
access token). No channel is reached in tests except through a local server."""

import hashlib
import hmac
import json
import logging
import sys
import urllib.request

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from . import conf
from .models import Notification, Subscription

log = logging.getLogger("gridgov.cases.notify")


class DeliveryError(RuntimeError):
    pass


def _post_json(url: str, data: dict, headers: dict | None = None) -> bytes:
    body = json.dumps(data, ensure_ascii=False).encode()
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=conf.get_float("CASES_NOTIFY_TIMEOUT")) as resp:
            if resp.status >= 300:
                raise DeliveryError(f"{url}: HTTP {resp.status}")
            return resp.read()
    except OSError as exc:  # URLError, HTTPError, timeouts
        raise DeliveryError(f"{url}: {exc}") from exc


def payload_of(n: Notification) -> dict:
    return {
        "id": n.pk,
        "kind": n.kind,
        "title": n.title,
        "body": n.body,
        "case": n.case_id,
        "recipient": n.recipient.username if n.recipient_id else None,
        "created_at": n.created_at.isoformat(),
        **({"data": n.payload} if n.payload else {}),
    }


def _phone_of(n: Notification) -> str:
    from gridgov.core import crypto

    return crypto.decrypt(n.payload["phone_enc"]) if n.payload.get("phone_enc") else ""


def _secret_of(n: Notification) -> str:
    from gridgov.core import crypto

    return crypto.decrypt(n.payload["secret_enc"]) if n.payload.get("secret_enc") else ""


def _sms_configured() -> bool:
    return "sms" in conf.get_list("CASES_NOTIFY_CHANNELS") and bool(conf.get("CASES_SMS_GATEWAY_URL"))


class ConsoleChannel:
    """The log (development): ids and a masked number only, no names and no texts."""

    name = "console"

    def reaches(self, user) -> bool:
        return True

    def reaches_phone(self) -> bool:
        return True

    def send(self, n: Notification):
        if n.payload.get("phone_enc"):
            # never the code in a log record (logs are shipped and kept); in development (DEBUG,
            # no SMS gateway) the developer reads it on the server's stdout
            log.warning("notify #%s %s → phone %s", n.pk, n.kind, n.payload.get("phone_masked", "-"))
            code = _secret_of(n)
            if code and settings.DEBUG and not _sms_configured():
                sys.stdout.write(f"[development] code for {n.payload.get('phone_masked', '-')}: {code}\n")
                sys.stdout.flush()
        else:
            log.warning("notify #%s %s → user #%s case #%s", n.pk, n.kind, n.recipient_id or "-", n.case_id or "-")


class WebhookChannel:
    name = "webhook"

    def reaches(self, user) -> bool:
        return bool(conf.get("CASES_WEBHOOK_URL"))

    def send(self, n: Notification):
        url = conf.get("CASES_WEBHOOK_URL")
        if not url:
            raise DeliveryError("CASES_WEBHOOK_URL is not set")
        data = payload_of(n)
        headers = {}
        secret = conf.get("CASES_WEBHOOK_SECRET")
        if secret:
            raw = json.dumps(data, ensure_ascii=False).encode()
            headers["X-Gridgov-Signature"] = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        _post_json(url, data, headers)


class SmsChannel:
    """A generic SMS gateway taking JSON {sign, template, phone, params}; the phone is
    decrypted only here, and each send is written to the audit log."""

    name = "sms"

    def reaches(self, user) -> bool:
        return bool(conf.get("CASES_SMS_GATEWAY_URL") and user is not None and user.phone_enc)

    def reaches_phone(self) -> bool:
        return bool(conf.get("CASES_SMS_GATEWAY_URL"))

    def send(self, n: Notification):
        from gridgov.core import audit, crypto

        url = conf.get("CASES_SMS_GATEWAY_URL")
        to_phone = bool(n.payload.get("phone_enc"))
        if not url or (not to_phone and (n.recipient is None or not n.recipient.phone_enc)):
            raise DeliveryError("no SMS gateway or no phone for the recipient")
        phone = _phone_of(n) if to_phone else crypto.decrypt(n.recipient.phone_enc)
        headers = {"Authorization": f"Bearer {conf.get('CASES_SMS_API_KEY')}"} if conf.get("CASES_SMS_API_KEY") else {}
        code = _secret_of(n)
        if code:
            template, params = conf.get("CASES_SMS_CODE_TEMPLATE") or conf.get("CASES_SMS_TEMPLATE"), {"code": code}
        else:
            template, params = conf.get("CASES_SMS_TEMPLATE"), {"title": n.title, "case": n.case_id}
        _post_json(url, {"sign": conf.get("CASES_SMS_SIGN"), "template": template, "phone": phone, "params": params}, headers)
        if to_phone:
            audit.record(None, "notify_sms", object_type="phone", object_id=n.payload.get("phone_masked", ""),
                         fields="phone", detail=f"notification {n.pk}")
        else:
            audit.record(None, "notify_sms", n.recipient, fields="phone", detail=f"notification {n.pk}")


class WechatChannel:
    """WeChat official-account template message to the recipient's openid (a Subscription)."""

    name = "wechat"

    def reaches(self, user) -> bool:
        return bool(
            user is not None and conf.get("CASES_WECHAT_TEMPLATE_ID")
            and Subscription.objects.filter(user=user, channel="wechat").exists()
        )

    def send(self, n: Notification):
        sub = Subscription.objects.filter(user=n.recipient, channel="wechat").first()
        token = conf.get("CASES_WECHAT_ACCESS_TOKEN")
        if not sub or not token:
            raise DeliveryError("no openid for the recipient or no access token")
        url = f"{conf.get('CASES_WECHAT_API_BASE').rstrip('/')}/cgi-bin/message/template/send?access_token={token}"
        answer = _post_json(
            url,
            {
                "touser": sub.address,
                "template_id": conf.get("CASES_WECHAT_TEMPLATE_ID"),
                "data": {"thing1": {"value": n.title[:20]}, "thing2": {"value": (n.body or n.title)[:20]}},
            },
        )
        try:
            errcode = json.loads(answer or b"{}").get("errcode", 0)
        except ValueError:
            errcode = -1
        if errcode:
            raise DeliveryError(f"wechat answered errcode {errcode}")


CHANNELS = {c.name: c for c in (ConsoleChannel(), WebhookChannel(), SmsChannel(), WechatChannel())}


def register_channel(channel):
    """Add a channel (an object with name, reaches(user), send(notification))."""
    CHANNELS[channel.name] = channel


def queue(recipient, kind: str, title: str, body: str = "", case=None, payload=None, at=None) -> list[Notification]:
    """Write outbox rows (inside the caller's transaction) and deliver them after commit. Title
    and body often quote a note someone typed: ID and mobile numbers are masked (core.freetext).
    `at` (default the clock) is the rows' created_at: a service acting at a given `now`."""
    from gridgov.core.freetext import mask_personal

    title, body = mask_personal(title), mask_personal(body)
    rows = []
    now = at or timezone.now()
    for name in conf.get_list("CASES_NOTIFY_CHANNELS"):
        channel = CHANNELS.get(name)
        if channel is None or not channel.reaches(recipient):
            continue
        rows.append(
            Notification.objects.create(
                recipient=recipient, channel=name, kind=kind, title=title, body=body, case=case,
                payload=payload or {}, created_at=now,
            )
        )
    if rows:
        ids = [n.pk for n in rows]
        transaction.on_commit(lambda: _schedule(ids))
    return rows


def queue_to_phone(phone: str, kind: str, title: str, secret: str = "") -> list[Notification]:
    """Rows addressed to a phone number (no account behind it yet) for the channels that can
    reach a number; the number and the secret (a one-time code) are stored encrypted."""
    from gridgov.core import crypto

    rows = []
    now = timezone.now()
    payload = {"phone_enc": crypto.encrypt(phone), "phone_masked": crypto.mask_phone(phone)}
    if secret:
        payload["secret_enc"] = crypto.encrypt(secret)
    for name in conf.get_list("CASES_NOTIFY_CHANNELS"):
        channel = CHANNELS.get(name)
        if channel is None or not getattr(channel, "reaches_phone", lambda: False)():
            continue
        rows.append(Notification.objects.create(recipient=None, channel=name, kind=kind, title=title, payload=payload, created_at=now))
    if rows:
        ids = [n.pk for n in rows]
        transaction.on_commit(lambda: _schedule(ids))
    return rows


def _schedule(ids):
    try:
        from .tasks import deliver_notifications

        deliver_notifications(ids)
    except Exception:  # the queue being down must not break the request; the sweep retries
        log.exception("could not enqueue delivery of notifications %s", ids)


def deliver(ids=None) -> dict:
    """Deliver pending notifications (all, or those in `ids`); safe to run concurrently."""
    qs = Notification.objects.filter(state="pending")
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    counts = {"sent": 0, "failed": 0, "retry": 0}
    max_attempts = conf.get_int("CASES_NOTIFY_MAX_ATTEMPTS")
    for pk in list(qs.order_by("id").values_list("pk", flat=True)[:1000]):
        if not Notification.objects.filter(pk=pk, state="pending").update(state="sending", attempts=F("attempts") + 1):
            continue  # another worker has it
        n = Notification.objects.select_related("recipient").get(pk=pk)
        try:
            CHANNELS[n.channel].send(n)
        except Exception as exc:
            final = n.attempts >= max_attempts
            Notification.objects.filter(pk=pk).update(state="failed" if final else "pending", error=str(exc)[:1000])
            counts["failed" if final else "retry"] += 1
            continue
        done = {"state": "sent", "sent_at": timezone.now(), "error": ""}
        if "secret_enc" in n.payload:  # a one-time code is not kept once sent
            done["payload"] = {k: v for k, v in n.payload.items() if k != "secret_enc"}
        Notification.objects.filter(pk=pk).update(**done)
        counts["sent"] += 1
    return counts
