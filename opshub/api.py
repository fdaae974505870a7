"""API plumbing shared by every app: JSON errors with a message per field.

Refusal order (docs/integrations.md): 401 (who are you) → 403 (you may not) → 404 (no such
object) → 400/409 (the body or the object's state). A caller learns nothing about an object
or what a valid body looks like from an action they may not take: the role gate is
opshub.accounts.api.CanWriteOrReadOnly, each view's object rules come next.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, parsers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from opshub.lib import jsonbody


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


class StrictJSONParser(parsers.JSONParser):
    """DRF's JSON parser through opshub.lib.jsonbody: a body nested too deeply, with
    NaN/Infinity, NUL or a lone surrogate is a 400 with a message, never a 500 later.

    A protocol's `fields` and an intake source's `mapping` are checked per field by their own
    validators (with the field's label), so the parser leaves their text alone."""

    per_field_keys = ("fields", "mapping")

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", "utf-8")
        data = stream.read() if stream is not None else b""
        try:
            text = data.decode(encoding) if encoding != "utf-8" else data
            return jsonbody.loads(text, per_field_keys=self.per_field_keys)
        except UnicodeDecodeError:
            raise exceptions.ParseError(f"The body is not {encoding}.") from None
        except LookupError:
            raise exceptions.ParseError(f"Unknown charset {encoding}.") from None
        except jsonbody.BodyError as exc:
            if exc.path:  # bad text in one value: named like any other field error
                raise exceptions.ValidationError({exc.path: [str(exc)]}) from None
            raise exceptions.ParseError(str(exc)) from None


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The item changed in the meantime; reload and try again."
    default_code = "conflict"


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """An unknown /api/v1/ URL: a JSON 404 (whatever the method), like every API error."""
    return JsonResponse({"detail": "No such API resource."}, status=404)


def error_response(message, *, status_code=400, **fields):
    return Response({"detail": message, **fields}, status=status_code)


def document_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation may answer with a JSON error.

    The exception handler above gives every error one shape ({"detail": …, per-field
    messages}); a `default` response documents it once for all operations, so clients and
    the schemathesis fuzz test know what a 400/401/403/404/409 body looks like.
    """
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = {
        "type": "object",
        "description": "An error: `detail` says what went wrong; a 400 adds a message per field.",
        "properties": {"detail": {"description": "A message, or a list of messages."}},
        "required": ["detail"],
        "additionalProperties": True,
    }
    error = {
        "description": "An error (JSON; see the Error schema).",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("default", error)
    return result
