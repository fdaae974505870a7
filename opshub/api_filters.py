"""Query-string filters of the /api/v1/ lists: one small Django form per resource.

A form validates the parameters (a bad value answers 400 naming the parameter, e.g.
{"updated_since": "Enter a valid date/time."}), narrows the queryset, and documents itself
in the OpenAPI schema (`schema_parameters`), so the docs, the fuzz test and the code agree.

    class ItemFilters(FilterForm):
        state = forms.ChoiceField(choices=WorkItem.State.choices, required=False)
        updated_since = UpdatedSince()
        lookups = {"state": "state", "updated_since": "updated_at__gte"}

Filters that need more than one lookup are methods `filter_<name>(queryset, value)`.
"""

import datetime

from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError as ApiValidationError

from opshub.lib.ids import MAX_ID, parse_int


class IdFilter(forms.IntegerField):
    def __init__(self, *, help_text="", **kwargs):
        super().__init__(required=False, min_value=1, max_value=MAX_ID, help_text=help_text)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        number = parse_int(value)
        if number is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return number


class UpdatedSince(forms.DateTimeField):
    """Normalised to UTC: PostgreSQL refuses offsets beyond ±15:59 (an ISO string may carry
    up to ±23:59), and a time that cannot be expressed in UTC is not a valid date/time."""

    def __init__(self, *, help_text=""):
        super().__init__(
            required=False,
            help_text=help_text
            or "ISO 8601 date-time, e.g. 2026-11-20T09:00:00Z (no offset: the server's time "
            "zone). Rows changed at or after it.",
        )

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(datetime.UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class FlagFilter(forms.NullBooleanField):
    """true/false (also 1/0); absent or empty: no filter."""

    widget = forms.TextInput  # NullBooleanSelect would read "maybe" as empty

    def __init__(self, *, help_text=""):
        super().__init__(required=False, help_text=help_text)

    def to_python(self, value):
        if value in (None, ""):
            return None
        if str(value).lower() in ("true", "1", "yes"):
            return True
        if str(value).lower() in ("false", "0", "no"):
            return False
        raise forms.ValidationError("Enter true or false.", code="invalid")

    def validate(self, value):
        pass


class FilterForm(forms.Form):
    """`lookups` maps a filter to an ORM lookup; a method `filter_<name>(queryset, value)`
    does what a lookup cannot (it may use `self.user`, the caller)."""

    lookups: dict = {}

    def __init__(self, data, *, user):
        super().__init__(data)
        self.user = user

    def apply(self, queryset):
        for name, value in self.cleaned_data.items():
            if value is None or value == "":
                continue
            method = getattr(self, f"filter_{name}", None)
            if method is not None:
                queryset = method(queryset, value)
            else:
                queryset = queryset.filter(**{self.lookups[name]: value})
        return queryset


def filtered(form_class, request, queryset):
    """The queryset narrowed by the request's filters; a bad value raises a 400 per parameter."""
    form = form_class(request.query_params, user=request.user)
    if not form.is_valid():
        raise ApiValidationError({name: errors[0] for name, errors in form.errors.items()})
    return form.apply(queryset)


def _parameter(name, field):
    kwargs = {"description": str(field.help_text or "")}
    if isinstance(field, forms.NullBooleanField):
        kind = bool
    elif isinstance(field, forms.IntegerField):
        kind = int
    elif isinstance(field, forms.DateTimeField):
        kind = OpenApiTypes.DATETIME
    elif isinstance(field, forms.DateField):
        kind = OpenApiTypes.DATE
    elif isinstance(field, forms.ChoiceField):
        kind, kwargs["enum"] = str, [value for value, _ in field.choices if value != ""]
    else:
        kind = str
    return OpenApiParameter(name, kind, **kwargs)


def schema_parameters(form_class):
    """The filters as OpenAPI query parameters, for `extend_schema(parameters=…)`."""
    return [_parameter(name, field) for name, field in form_class.base_fields.items()]
