"""Access to the staff pages: one decorator for every app that has them (web, hotline,
insight), so that those apps need not import each other."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _


def staff_required(view):
    """Logged in with a staff role; residents and volunteers get 403."""

    @login_required
    def wrapped(request, *args, **kwargs):
        if not request.user.is_staff_role:
            raise PermissionDenied(_("该页面仅限工作人员"))
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped
