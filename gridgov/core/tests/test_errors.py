"""core.errors.api_call: a service's result, or the API's answer to what it raised."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from gridgov.core.errors import CodedError, api_call


class Held(CodedError):
    code = "held"
    status = 409


def _raise(exc):
    raise exc


def test_a_result_comes_back_with_no_error():
    assert api_call(lambda a, b=0: a + b, 1, b=2) == (3, None)


def test_coded_errors_permission_denied_and_404_become_answers():
    result, err = api_call(_raise, Held("事件 %(n)s 已在审核中", n=7))
    assert result is None and err.status_code == 409 and err.value == {"detail": "事件 7 已在审核中", "code": "held"}
    _, err = api_call(_raise, PermissionDenied("no"))
    assert err.status_code == 403 and err.value == {"detail": "no", "code": "not_allowed"}
    _, err = api_call(_raise, Http404("gone"))
    assert err.status_code == 404 and err.value == {"detail": "not found", "code": "not_found"}


def test_anything_else_propagates():
    with pytest.raises(KeyError):
        api_call(_raise, KeyError("x"))
