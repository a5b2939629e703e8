"""The one shape of an error a service raises for people and programs alike."""

from django.utils import translation


class CodedError(Exception):
    """A stable `code` for clients and a Chinese message marked for translation, formatted with
    its `params` after translation, so a page shows it in the reader's language (`message`, also
    `str(exc)`), the API and stored notes in Chinese (`source_message`). A plain string works too.

        raise Conflict(_("事件 %(number)s 已在审核中"), code="held", number=case.number)
    """

    code = "invalid"
    #: the HTTP status the API answers with (api_error): 400, or 403, 404, 409 in subclasses
    status = 400

    def __init__(self, message="", *, code: str | None = None, **params):
        super().__init__(message)
        self.template, self.params = message, params
        if code:
            self.code = code

    @property
    def message(self) -> str:
        text = str(self.template)  # a lazy message: in the active language
        return text % {k: str(v) for k, v in self.params.items()} if self.params else text

    def source_message(self) -> str:
        """The message in the source language (Chinese): for the API and stored notes."""
        with translation.override(None):
            return self.message

    def __str__(self) -> str:
        return self.message


def api_error(exc):
    """The JSON API's answer to what a service raised: {"detail": the message in Chinese,
    "code": a stable code} with the error's `status` (CodedError), 403 (PermissionDenied) or
    404 (Http404); anything else is raised again."""
    from django.core.exceptions import PermissionDenied
    from django.http import Http404
    from ninja.responses import Status

    if isinstance(exc, CodedError):
        return Status(exc.status, {"detail": exc.source_message(), "code": exc.code})
    if isinstance(exc, PermissionDenied):
        return Status(403, {"detail": str(exc) or "not allowed", "code": "not_allowed"})
    if isinstance(exc, Http404):
        return Status(404, {"detail": "not found", "code": "not_found"})
    raise exc


def api_call(fn, *args, **kwargs):
    """Run a service for the JSON API: `(result, None)`, or `(None, api_error(exc))` when it
    raised a CodedError, PermissionDenied or Http404; anything else propagates.

        topic, err = api_call(services.get_topic, request.user, topic_id)
        if err:
            return err
    """
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    try:
        return fn(*args, **kwargs), None
    except (CodedError, PermissionDenied, Http404) as exc:
        return None, api_error(exc)
