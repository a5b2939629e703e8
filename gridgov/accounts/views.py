"""The login view shared by the workbench (/login/) and the phone pages (/m/login/)."""

from django.contrib.auth import views as auth_views


class LoginView(auth_views.LoginView):
    """A throttled login answers 429 with Retry-After (the form tells how long to wait)."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        retry = getattr(form, "retry_after", None)
        if retry:
            response.status_code = 429
            response["Retry-After"] = str(retry)
        return response
