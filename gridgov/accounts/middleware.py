"""What a signed-in user must do before anything else: change a password someone else set
(User.must_change_password: an administrator's reset, a new account, a bulk import), then, when
the setting ACCOUNTS_REQUIRE_SECOND_FACTOR names their role, turn the second factor on.

Until then every page redirects to the page that does it (/account/password/, /account/2fa/)
and the JSON API answers 403 with a stable code (`password_change_required`,
`second_factor_required`). Logging out, the language switch, static files and the health check
stay open."""

from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from . import conf

PASSWORD_PAGE = "/account/password/"
SECOND_FACTOR_PAGE = "/account/2fa/"
#: always reachable (prefixes)
OPEN = ("/logout/", "/m/logout/", "/login/", "/m/login/", "/static/", "/media/", "/jsi18n/", "/i18n/",
        "/api/health", "/m/sw.js")


def pending_step(user) -> str | None:
    """"password", "second_factor" or None: what `user` must do first."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if user.must_change_password:
        return "password"
    if conf.needs_second_factor(user):
        return "second_factor"
    return None


class RequiredStepsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if not path.startswith(OPEN):
            step = pending_step(getattr(request, "user", None))
            if step == "password" and path != PASSWORD_PAGE:
                return self._refuse(request, PASSWORD_PAGE, "password_change_required",
                                    _("管理员为您设置了临时密码，请先修改密码。"))
            if step == "second_factor" and path != SECOND_FACTOR_PAGE:
                return self._refuse(request, SECOND_FACTOR_PAGE, "second_factor_required",
                                    _("您的角色须开启双重验证，请先完成设置。"))
        return self.get_response(request)

    @staticmethod
    def _refuse(request, page, code, message):
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message, "code": code, "url": page}, status=403)
        target = page
        nxt = request.get_full_path()
        if request.method == "GET" and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
            from urllib.parse import urlencode

            target = f"{page}?{urlencode({'next': nxt})}"
        response = redirect(target)
        if request.headers.get("HX-Request"):
            response["HX-Redirect"] = target
        return response
