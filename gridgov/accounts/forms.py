from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from gridgov.core.net import client_ip

from . import services


class LoginForm(AuthenticationForm):
    """Password login, throttled per (user name, address) pair, per address and per user name
    (services.check_throttle), with the TOTP code for accounts that enabled the second factor.

    One step and one answer: a wrong password, a missing or wrong code, an unknown user name
    all get the same message, so the answer never confirms a password (a two-step form that
    asks for the code after the password would). A code is used once (services.verify_totp)."""

    otp = forms.CharField(label=_("动态验证码"), required=False, max_length=8)

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("用户名、密码或动态验证码不正确。"),
    }

    retry_after = None  # seconds, when throttled (the view answers 429 with Retry-After)

    def clean(self):
        username = (self.cleaned_data.get("username") or "").strip()
        ip = client_ip(self.request) if self.request else None
        try:
            services.check_throttle(username, ip)
        except services.Throttled as exc:
            self.retry_after = exc.retry_after
            raise ValidationError(str(exc), code="throttled") from None
        try:
            super().clean()
        except ValidationError:
            services.record_attempt(username, ip, success=False)
            raise
        user = self.get_user()
        if user is not None and user.totp_enabled and not services.verify_totp(user, self.cleaned_data.get("otp")):
            services.record_attempt(username, ip, success=False)
            self.user_cache = None
            raise self.get_invalid_login_error()
        services.record_attempt(username, ip, success=True)
        return self.cleaned_data
