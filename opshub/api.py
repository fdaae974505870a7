"""API plumbing shared by every app: JSON errors with a message per field."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, ValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, list):
        data = {"detail": data}
    if response.status_code == status.HTTP_400_BAD_REQUEST and "detail" not in data:
        data = {"detail": "The request has invalid fields.", "errors": data, **data}
    response.data = data
    return response


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The item changed in the meantime; reload and try again."
    default_code = "conflict"


def error_response(message, *, status_code=400, **fields):
    return Response({"detail": message, **fields}, status=status_code)
