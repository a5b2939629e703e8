import re

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.forms import LoginForm

from .services import user_by_phone

PHONE = re.compile(r"^1[3-9]\d{9}$")


class MobileLoginForm(LoginForm):
    """The staff login (throttling, TOTP), also accepting the phone number a resident registered
    with: the phone is looked up by its blind index and replaced by the user name."""

    def clean(self):
        name = (self.cleaned_data.get("username") or "").strip()
        if PHONE.match(name):
            user = user_by_phone(name)
            if user is not None:
                self.cleaned_data["username"] = user.username
        return super().clean()


class RegisterForm(forms.Form):
    phone = forms.CharField(label=_("手机号"), max_length=11)
    display_name = forms.CharField(label=_("称呼（可不填）"), max_length=30, required=False)
    password = forms.CharField(label=_("密码"), widget=forms.PasswordInput, min_length=10)
    password2 = forms.CharField(label=_("再输一次密码"), widget=forms.PasswordInput)

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        if not PHONE.match(phone):
            raise ValidationError(_("请输入11位手机号"))
        return phone

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password2"):
            self.add_error("password2", _("两次输入的密码不一致"))
        elif data.get("password"):
            try:
                validate_password(data["password"])
            except ValidationError as exc:
                self.add_error("password", exc)
        return data


class CodeForm(forms.Form):
    code = forms.CharField(label=_("短信验证码"), max_length=6, min_length=6)


class PhoneForm(forms.Form):
    phone = forms.CharField(label=_("手机号"), max_length=20)

    def clean_phone(self):
        from gridgov.accounts.signin import normalize_phone

        phone = normalize_phone(self.cleaned_data["phone"])
        if not phone:
            raise ValidationError(_("请输入11位手机号"))
        return phone
