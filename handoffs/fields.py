"""The typed fields a handoff protocol requires: definitions and value validation.

A field definition is a dict stored inside an immutable ProtocolVersion:
    {"key": "po_number", "label": "PO number", "type": "text", "required": true,
     "help": "...", "choices": [...], "min": 0, "max": 10, "max_length": 80, "pattern": "^PO-"}
"""

import datetime
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

FIELD_TYPES = {
    "text": "Text",
    "long_text": "Long text",
    "number": "Number",
    "money": "Money",
    "date": "Date",
    "url": "URL",
    "email": "Email",
    "choice": "Choice",
    "yes_no": "Yes/no",
}
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


def validate_definition(defn):
    """Returns a dict of problems with one field definition, keyed by attribute."""
    errors = {}
    key = defn.get("key", "")
    if not _KEY.match(key or ""):
        errors["key"] = "Use lowercase letters, digits and underscores, starting with a letter."
    if not (defn.get("label") or "").strip():
        errors["label"] = "Give the field a label."
    if defn.get("type") not in FIELD_TYPES:
        errors["type"] = f"Pick one of: {', '.join(FIELD_TYPES)}."
    if defn.get("type") == "choice" and not [c for c in defn.get("choices") or [] if c.strip()]:
        errors["choices"] = "A choice field needs at least one choice."
    for bound in ("min", "max"):
        if defn.get(bound) not in (None, ""):
            try:
                Decimal(str(defn[bound]))
            except InvalidOperation:
                errors[bound] = "Must be a number."
    if defn.get("pattern"):
        try:
            re.compile(defn["pattern"])
        except re.error as exc:
            errors["pattern"] = f"Not a valid regular expression: {exc}."
    return errors


def clean_value(defn, raw):
    """Validates one submitted value; returns the JSON-storable value or raises ValidationError.

    Empty values return None; whether that is allowed is the caller's (required) decision.
    """
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    label = defn.get("label", defn["key"])
    cleaner = _CLEANERS.get(defn["type"])
    if cleaner is None:
        raise ValidationError(f"{label} has an unknown type.")
    return cleaner(defn, raw, label)


# One cleaner per field type: (definition, non-empty raw value, label) → stored value.


def _text(defn, raw, label):
    value = str(raw).strip()
    limit = defn.get("max_length") or (10000 if defn["type"] == "long_text" else 500)
    if len(value) > int(limit):
        raise ValidationError(f"{label} must be at most {limit} characters.")
    if defn.get("pattern") and not re.search(defn["pattern"], value):
        raise ValidationError(f"{label} does not have the expected format.")
    return value


def _decimal(defn, raw, label):
    """The number within the definition's min and max, for number and money fields."""
    try:
        number = Decimal(str(raw).replace(",", "").strip())
    except InvalidOperation:
        raise ValidationError(f"{label} must be a number.") from None
    if not number.is_finite():
        raise ValidationError(f"{label} must be a number.")
    if defn.get("min") not in (None, "") and number < Decimal(str(defn["min"])):
        raise ValidationError(f"{label} must be at least {defn['min']}.")
    if defn.get("max") not in (None, "") and number > Decimal(str(defn["max"])):
        raise ValidationError(f"{label} must be at most {defn['max']}.")
    return number


def _number(defn, raw, label):
    number = _decimal(defn, raw, label)
    # Fixed-point text either way: Decimal's str() writes 100 as "1E+2" once normalised.
    whole = number == number.to_integral()
    return format(number.to_integral_value() if whole else number, "f")


def _money(defn, raw, label):
    return str(_decimal(defn, raw, label).quantize(Decimal("0.01")))


def _date(defn, raw, label):
    try:
        return datetime.date.fromisoformat(str(raw).strip()).isoformat()
    except ValueError:
        raise ValidationError(f"{label} must be a date (YYYY-MM-DD).") from None


def _url(defn, raw, label):
    value = str(raw).strip()
    URLValidator(schemes=["http", "https"], message=f"{label} must be a web address.")(value)
    return value


def _email(defn, raw, label):
    value = str(raw).strip()
    EmailValidator(message=f"{label} must be an email address.")(value)
    return value


def _choice(defn, raw, label):
    value = str(raw).strip()
    if value not in (defn.get("choices") or []):
        raise ValidationError(f"{label} must be one of: {', '.join(defn['choices'])}.")
    return value


_YES = ("yes", "true", "1", "on", "y")
_NO = ("no", "false", "0", "off", "n")


def _yes_no(defn, raw, label):
    if isinstance(raw, bool):
        return raw
    value = str(raw).strip().lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise ValidationError(f"{label} must be yes or no.")


_CLEANERS = {
    "text": _text,
    "long_text": _text,
    "number": _number,
    "money": _money,
    "date": _date,
    "url": _url,
    "email": _email,
    "choice": _choice,
    "yes_no": _yes_no,
}
