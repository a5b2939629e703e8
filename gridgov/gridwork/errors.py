"""The errors grid work's services raise for what a request says (not for who asks, which is
PermissionDenied): the API answers their `status` with the Chinese message (core.errors.api_call),
the pages show it in the reader's language."""

from gridgov.core.errors import CodedError


class GridworkError(CodedError):
    status = 400


class NotFound(GridworkError):
    status = 404
    code = "not_found"


class Forbidden(GridworkError):
    status = 403
    code = "not_allowed"


class Conflict(GridworkError):
    status = 409
    code = "conflict"
