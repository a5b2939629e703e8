"""Password rules beyond Django's: staff passwords mix letters and digits."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class LettersAndDigitsValidator:
    """At least one letter and one digit (Django's validators already require length, reject
    common and all-numeric passwords and ones too like the user's name)."""

    def validate(self, password, user=None):
        if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
            raise ValidationError(_("密码须同时包含字母和数字。"), code="password_no_mix")

    def get_help_text(self):
        return _("密码须同时包含字母和数字。")
