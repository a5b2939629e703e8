"""Tunables of the cases app.

Each is read from Django settings when set there (tests use `override_settings`), else from the
setting row in force when the key is one administrators edit on /settings/ (core.settings_rows),
else from the environment variable beside it, else the default (the mechanism: gridgov.core.conf).
Nothing here needs an edit of settings.py."""

from gridgov.core import conf as _conf
from gridgov.core.conf import get, get_float, get_int, get_list  # noqa: F401 (the app's readers)

DEFAULTS = _conf.register({
    # working periods of a working day, local time (resolve and summon clocks run on these)
    "CASES_WORKING_HOURS": ("GRIDGOV_WORKING_HOURS", "09:00-12:00,13:30-17:30"),
    # clocks whose breach escalates the case (the others are kept as breaches and reported):
    # "must accept within a minute; nothing happens for 15 minutes? it escalates"
    "CASES_ESCALATING_CLOCKS": ("GRIDGOV_CASES_ESCALATING_CLOCKS", "arrive,resolve"),
    # share of a limit at which the handler is warned
    "CASES_WARN_RATIO": ("GRIDGOV_CASES_WARN_RATIO", "0.8"),
    # recognition: below this confidence the item is left for a person
    "CASES_RECOGNIZE_THRESHOLD": ("GRIDGOV_RECOGNIZE_THRESHOLD", "0.45"),
    # duplicates: radius (m), window (days), minimal text similarity (character-bigram Jaccard)
    "CASES_DUPLICATE_RADIUS_M": ("GRIDGOV_DUPLICATE_RADIUS_M", "200"),
    "CASES_DUPLICATE_DAYS": ("GRIDGOV_DUPLICATE_DAYS", "7"),
    "CASES_DUPLICATE_MIN_SIMILARITY": ("GRIDGOV_DUPLICATE_MIN_SIMILARITY", "0.3"),
    # summons (吹哨报到): working hours for a department to report back
    "CASES_SUMMON_REPORT_HOURS": ("GRIDGOV_SUMMON_REPORT_HOURS", "4"),
    # the longest a summons may be given (working hours; about three months)
    "CASES_SUMMON_MAX_HOURS": ("GRIDGOV_SUMMON_MAX_HOURS", "500"),
    # the longest case text any door accepts (the native API, the phone page, Open311): one limit
    "CASES_MAX_TEXT": ("GRIDGOV_CASES_MAX_TEXT", "4000"),
    # an unsatisfied rating reopens the case with the same handler this many times; the next
    # unsatisfied rating escalates it
    "CASES_RATING_REOPENS": ("GRIDGOV_CASES_RATING_REOPENS", "1"),
    # resolving: the shortest description of what was done (characters, spaces not counted),
    # and when a photo of the result is required: on_site (the handler reported arrival, so
    # the case was handled on the spot), always, never
    "CASES_RESOLVE_NOTE_MIN": ("GRIDGOV_CASES_RESOLVE_NOTE_MIN", "4"),
    "CASES_RESOLVE_PHOTO": ("GRIDGOV_CASES_RESOLVE_PHOTO", "on_site"),
    # photos
    "CASES_MAX_PHOTOS": ("GRIDGOV_CASES_MAX_PHOTOS", "9"),
    "CASES_MAX_PHOTO_BYTES": ("GRIDGOV_CASES_MAX_PHOTO_BYTES", str(10 * 1024 * 1024)),
    # decoded size limit (width × height); a larger header is refused before decoding (bombs)
    "CASES_MAX_PHOTO_PIXELS": ("GRIDGOV_CASES_MAX_PHOTO_PIXELS", str(40_000_000)),
    # all the photos of one report (or of one resolution) together: bytes, and pixels read from
    # each header before any is decoded (nine photos at the single-photo limit would decode 360 MP)
    "CASES_MAX_REPORT_PHOTO_BYTES": ("GRIDGOV_CASES_MAX_REPORT_PHOTO_BYTES", str(30 * 1024 * 1024)),
    "CASES_MAX_REPORT_PHOTO_PIXELS": ("GRIDGOV_CASES_MAX_REPORT_PHOTO_PIXELS", str(60_000_000)),
    # notification channels, comma-separated: console, webhook, sms, wechat
    "CASES_NOTIFY_CHANNELS": ("GRIDGOV_NOTIFY_CHANNELS", "console"),
    "CASES_WEBHOOK_URL": ("GRIDGOV_NOTIFY_WEBHOOK_URL", ""),
    "CASES_WEBHOOK_SECRET": ("GRIDGOV_NOTIFY_WEBHOOK_SECRET", ""),
    "CASES_SMS_GATEWAY_URL": ("GRIDGOV_SMS_GATEWAY_URL", ""),
    "CASES_SMS_SIGN": ("GRIDGOV_SMS_SIGN", "南苑街道"),
    "CASES_SMS_TEMPLATE": ("GRIDGOV_SMS_TEMPLATE", ""),
    # the gateway's verification-code template (params {code}); empty: CASES_SMS_TEMPLATE
    "CASES_SMS_CODE_TEMPLATE": ("GRIDGOV_SMS_CODE_TEMPLATE", ""),
    "CASES_SMS_API_KEY": ("GRIDGOV_SMS_API_KEY", ""),
    "CASES_WECHAT_API_BASE": ("GRIDGOV_WECHAT_API_BASE", "https://api.weixin.qq.com"),
    "CASES_WECHAT_ACCESS_TOKEN": ("GRIDGOV_WECHAT_ACCESS_TOKEN", ""),
    "CASES_WECHAT_TEMPLATE_ID": ("GRIDGOV_WECHAT_TEMPLATE_ID", ""),
    "CASES_NOTIFY_TIMEOUT": ("GRIDGOV_NOTIFY_TIMEOUT", "5"),
    "CASES_NOTIFY_MAX_ATTEMPTS": ("GRIDGOV_NOTIFY_MAX_ATTEMPTS", "5"),
})
