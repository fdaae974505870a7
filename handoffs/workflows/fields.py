"""The typed fields a handoff protocol requires: definitions and value validation.

A field definition is a dict stored inside an immutable ProtocolVersion:
    {"key": "po_number", "label": "PO number", "type": "text", "required": true,
     "help": "...", "choices": [...], "min": 0, "max": 10, "max_length": 80, "pattern": "^PO-"}

Values are stored in PostgreSQL's jsonb, which refuses a NUL character, and sent out as
UTF-8, which has no lone surrogates: a value holding either is refused with a message, as is
a list or an object, text longer than MAX_TEXT_LENGTH and a number of more than
MAX_WHOLE_DIGITS digits before the point (docs/workflows.md, "Field values").
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

MAX_TEXT_LENGTH = 10000  # the longest text any field holds, whatever its max_length says
MAX_WHOLE_DIGITS = 15  # up to 999 999 999 999 999: exact in a float, far beyond any amount
NUMBER_DECIMALS = 10  # a number keeps at most this many decimals (money: 2), rounded
# Longer number text cannot be within the bounds above; refusing it first keeps a
# megabyte of digits from being parsed at all.
_MAX_NUMBER_TEXT = 100
_MAX_NUMBER_BITS = 1000  # a JSON integer beyond this (~300 digits) is refused unconverted


def unstorable(text):
    """Why PostgreSQL cannot store this text, as the end of a sentence, or "" when it can."""
    if "\x00" in text:
        return "cannot contain a null character (\\x00)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "cannot contain a lone surrogate (an invalid Unicode character)"
    return ""


def printable(text):
    """Text as an error message may echo it: NUL and lone surrogates written as escapes.

    An unknown key is named in the answer, and a lone surrogate would break its UTF-8 JSON.
    """
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


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
    errors.update(_bound_errors(defn))
    if defn.get("max_length") not in (None, "") and not _is_text_length(defn["max_length"]):
        errors["max_length"] = f"Must be a whole number from 1 to {MAX_TEXT_LENGTH}."
    if defn.get("pattern"):
        try:
            re.compile(defn["pattern"])
        except re.error as exc:
            errors["pattern"] = f"Not a valid regular expression: {exc}."
    return errors


def _bound_errors(defn):
    errors = {}
    for bound in ("min", "max"):
        if defn.get(bound) not in (None, ""):
            try:
                Decimal(str(defn[bound]))
            except InvalidOperation:
                errors[bound] = "Must be a number."
    return errors


def _is_text_length(value):
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return False
    text = str(value)
    return text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_TEXT_LENGTH


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
    if isinstance(raw, (dict, list, tuple)):
        raise ValidationError(f"{label} must be a single value, not a list or an object.")
    if isinstance(raw, str) and (problem := unstorable(raw)):
        raise ValidationError(f"{label} {problem}.")
    if isinstance(raw, int) and raw.bit_length() > _MAX_NUMBER_BITS:
        raise ValidationError(f"{label} is too large a number.")
    return cleaner(defn, raw, label)


# One cleaner per field type: (definition, non-empty raw value, label) → stored value.


def _text(defn, raw, label):
    value = str(raw).strip()
    limit = min(
        int(defn.get("max_length") or (MAX_TEXT_LENGTH if defn["type"] == "long_text" else 500)),
        MAX_TEXT_LENGTH,
    )
    if len(value) > int(limit):
        raise ValidationError(f"{label} must be at most {limit} characters.")
    if defn.get("pattern") and not re.search(defn["pattern"], value):
        raise ValidationError(f"{label} does not have the expected format.")
    return value


def _decimal(defn, raw, label, places):
    """The number, rounded to `places` decimals at most, within the definition's min and max
    and MAX_WHOLE_DIGITS, for number and money fields."""
    text = str(raw).replace(",", "").strip()
    too_big = f"{label} must have at most {MAX_WHOLE_DIGITS} digits before the decimal point."
    if len(text) > _MAX_NUMBER_TEXT:
        raise ValidationError(too_big)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"{label} must be a number.") from None
    if not number.is_finite():
        raise ValidationError(f"{label} must be a number.")
    if number.is_zero():
        number = Decimal(0)  # "0E+500" is zero, not a 500-digit number
    # Bounded before rounding (quantize needs the digits to fit the context's 28) and after
    # (999999999999999.999 rounds up to 16 digits).
    if number.adjusted() >= MAX_WHOLE_DIGITS:
        raise ValidationError(too_big)
    if number.as_tuple().exponent < -places:
        number = number.quantize(Decimal(1).scaleb(-places))
    if number.adjusted() >= MAX_WHOLE_DIGITS:
        raise ValidationError(too_big)
    if defn.get("min") not in (None, "") and number < Decimal(str(defn["min"])):
        raise ValidationError(f"{label} must be at least {defn['min']}.")
    if defn.get("max") not in (None, "") and number > Decimal(str(defn["max"])):
        raise ValidationError(f"{label} must be at most {defn['max']}.")
    return number


def _number(defn, raw, label):
    number = _decimal(defn, raw, label, NUMBER_DECIMALS)
    # Fixed-point text either way: Decimal's str() writes 100 as "1E+2" once normalised.
    whole = number == number.to_integral()
    return format(number.to_integral_value() if whole else number, "f")


def _money(defn, raw, label):
    return str(_decimal(defn, raw, label, 2).quantize(Decimal("0.01")))


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
