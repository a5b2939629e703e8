from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import services


def client_ip(request) -> str | None:
    """The client address as the reverse proxy reports it (settings.GRIDGOV_TRUSTED_PROXY)."""
    from django.conf import settings

    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        fwd = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if fwd:
            return fwd.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR")


class LoginForm(AuthenticationForm):
    """Password login, throttled per user name and address, with the TOTP code for accounts
    that enabled the second factor."""

    otp = forms.CharField(label=_("动态验证码"), required=False, max_length=8)

    def clean(self):
        username = (self.cleaned_data.get("username") or "").strip()
        ip = client_ip(self.request) if self.request else None
        try:
            services.check_throttle(username, ip)
        except services.Throttled as exc:
            raise ValidationError(str(exc), code="throttled") from None
        try:
            super().clean()
        except ValidationError:
            services.record_attempt(username, ip, success=False)
            raise
        user = self.get_user()
        if user is not None and user.totp_enabled and not services.verify_totp(user, self.cleaned_data.get("otp")):
            services.record_attempt(username, ip, success=False)
            raise ValidationError(_("请输入正确的动态验证码（已开启双重验证）。"), code="otp")
        services.record_attempt(username, ip, success=True)
        return self.cleaned_data
