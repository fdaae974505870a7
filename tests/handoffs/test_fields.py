"""Protocol field values: every type's valid values, stored form, and exact refusals."""

import json

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from handoffs.workflows.fields import FIELD_TYPES, clean_value, validate_definition


def _defn(kind, **extra):
    return {"key": "f", "label": "Thing", "type": kind, **extra}


# (type, extra definition attributes, submitted value, stored value)
VALID = [
    ("text", {}, "  PO-1 ", "PO-1"),
    ("text", {}, 42, "42"),
    ("text", {}, "x" * 500, "x" * 500),
    ("text", {"max_length": 3}, "abc", "abc"),
    ("text", {"pattern": "^PO-"}, "PO-9", "PO-9"),
    ("long_text", {}, "y" * 10000, "y" * 10000),
    ("number", {}, "42", "42"),
    ("number", {}, "1,234.5", "1234.5"),
    ("number", {}, "1.50", "1.50"),
    ("number", {}, "1.0", "1"),
    ("number", {}, 7, "7"),
    ("number", {}, 2.5, "2.5"),
    ("number", {"min": 0, "max": 10}, "10", "10"),
    ("number", {}, "1E+2", "100"),
    ("number", {}, "0.0000001", "0.0000001"),
    ("number", {}, "0.123456789012345", "0.1234567890"),
    ("number", {}, "1e-999999999", "0"),
    ("number", {}, "0E+500", "0"),
    ("number", {}, "-999999999999999", "-999999999999999"),
    ("money", {}, "999,999,999,999,999.99", "999999999999999.99"),
    ("number", {"min": "", "max": None}, "-3", "-3"),
    ("money", {}, "19.999", "20.00"),
    ("money", {}, "1,000", "1000.00"),
    ("money", {"min": 0}, "0", "0.00"),
    ("date", {}, " 2026-01-05 ", "2026-01-05"),
    ("url", {}, " https://example.com/a ", "https://example.com/a"),
    ("email", {}, " ada@example.com ", "ada@example.com"),
    ("choice", {"choices": ["Red", "Blue"]}, " Blue ", "Blue"),
    ("yes_no", {}, True, True),
    ("yes_no", {}, False, False),
    *[("yes_no", {}, text, True) for text in ("yes", "TRUE", "1", "on", "Y")],
    *[("yes_no", {}, text, False) for text in ("no", "False", "0", "OFF", "n")],
]

# (type, extra definition attributes, submitted value, exact message)
INVALID = [
    ("text", {}, "x" * 501, "Thing must be at most 500 characters."),
    ("text", {"max_length": 3}, "abcd", "Thing must be at most 3 characters."),
    ("text", {"pattern": "^PO-"}, "X-1", "Thing does not have the expected format."),
    ("long_text", {}, "y" * 10001, "Thing must be at most 10000 characters."),
    ("number", {}, "lots", "Thing must be a number."),
    ("number", {}, "NaN", "Thing must be a number."),
    ("number", {}, "Infinity", "Thing must be a number."),
    ("number", {"min": 0}, "-1", "Thing must be at least 0."),
    ("number", {"max": "9.5"}, "10", "Thing must be at most 9.5."),
    ("money", {"min": 0}, "-5", "Thing must be at least 0."),
    ("money", {}, "$5", "Thing must be a number."),
    ("date", {}, "5 Jan 2026", "Thing must be a date (YYYY-MM-DD)."),
    ("date", {}, "2026-02-30", "Thing must be a date (YYYY-MM-DD)."),
    ("url", {}, "ftp://example.com", "Thing must be a web address."),
    ("url", {}, "example", "Thing must be a web address."),
    ("email", {}, "ada@", "Thing must be an email address."),
    ("choice", {"choices": ["Red", "Blue"]}, "Green", "Thing must be one of: Red, Blue."),
    ("choice", {"choices": ["Red", "Blue"]}, "blue", "Thing must be one of: Red, Blue."),
    ("yes_no", {}, "maybe", "Thing must be yes or no."),
    ("number", {}, "1e400", "Thing must have at most 15 digits before the decimal point."),
    ("number", {}, "9" * 5000, "Thing must have at most 15 digits before the decimal point."),
    ("money", {}, "1e400", "Thing must have at most 15 digits before the decimal point."),
    ("money", {}, "9" * 5000, "Thing must have at most 15 digits before the decimal point."),
    ("money", {}, 1e300, "Thing must have at most 15 digits before the decimal point."),
    ("money", {}, "1" + "0" * 15, "Thing must have at most 15 digits before the decimal point."),
    ("text", {"max_length": 10**6}, "x" * 10001, "Thing must be at most 10000 characters."),
    *[
        (kind, {"choices": ["a"]}, hostile, message)
        for kind in FIELD_TYPES
        for hostile, message in [
            ("a\x00", "Thing cannot contain a null character (\\x00)."),
            ("a\ud800", "Thing cannot contain a lone surrogate (an invalid Unicode character)."),
            ({"a": 1}, "Thing must be a single value, not a list or an object."),
            (["a"], "Thing must be a single value, not a list or an object."),
        ]
    ],
    ("yes_no", {}, 2, "Thing must be yes or no."),
    ("colour", {}, "red", "Thing has an unknown type."),
]


@pytest.mark.parametrize(("kind", "extra", "raw", "stored"), VALID)
def test_a_valid_value_is_stored_in_its_plain_form(kind, extra, raw, stored):
    assert clean_value(_defn(kind, **extra), raw) == stored


@pytest.mark.parametrize(("kind", "extra", "raw", "message"), INVALID)
def test_an_invalid_value_is_refused_with_a_message_naming_the_field(kind, extra, raw, message):
    with pytest.raises(ValidationError) as error:
        clean_value(_defn(kind, **extra), raw)
    assert error.value.messages == [message]


@pytest.mark.parametrize("kind", [*FIELD_TYPES, "colour"])
@pytest.mark.parametrize("raw", [None, "", "   "])
def test_an_empty_value_is_none_whatever_the_type(kind, raw):
    assert clean_value(_defn(kind), raw) is None


def test_without_a_label_the_message_names_the_key():
    with pytest.raises(ValidationError) as error:
        clean_value({"key": "amount", "type": "number"}, "lots")
    assert error.value.messages == ["amount must be a number."]


def test_every_field_type_has_valid_and_invalid_cases():
    assert {case[0] for case in VALID} == set(FIELD_TYPES)
    assert {case[0] for case in INVALID} == {*FIELD_TYPES, "colour"}


@pytest.mark.parametrize("kind", FIELD_TYPES)
def test_an_integer_of_thousands_of_digits_is_refused_unconverted(kind):
    with pytest.raises(ValidationError) as error:
        clean_value(_defn(kind, choices=["a"]), 10**5000)
    assert error.value.messages == ["Thing is too large a number."]


def test_a_round_number_is_stored_without_an_exponent():
    assert clean_value(_defn("number"), "100") == "100"


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_any_whole_amount_of_money_keeps_its_value_in_cents(amount):
    assert clean_value(_defn("money"), str(amount)) == f"{amount}.00"


# Any code point, surrogates included (hypothesis leaves them out by default), and NUL often.
hostile_text = st.text(st.characters(codec=None, exclude_categories=()) | st.just("\x00"))
numbers = st.integers() | st.floats() | st.decimals().map(str)
hostile_values = hostile_text | numbers | st.booleans() | st.lists(st.integers(), max_size=2)


def _storable(value):
    """What PostgreSQL's jsonb holds: JSON encodable as UTF-8, without NUL."""
    encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
    return "\x00" not in encoded and bool(encoded.encode("utf-8"))


@given(hostile_values)
def test_any_value_for_any_type_is_stored_or_refused_with_a_message(raw):
    for kind in FIELD_TYPES:
        try:
            stored = clean_value(_defn(kind, choices=["a"]), raw)
        except ValidationError as error:
            assert error.messages[0].startswith("Thing ")
        else:
            assert _storable(stored)


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_a_stored_number_has_at_most_15_whole_digits(number):
    for kind in ("number", "money"):
        try:
            stored = clean_value(_defn(kind), str(number))
        except ValidationError:
            continue
        assert len(stored.lstrip("-").partition(".")[0]) <= 15


@pytest.mark.parametrize("length", [0, 10001, "²", "-1", 2.5, True])
def test_a_text_field_longer_than_10000_characters_cannot_be_defined(length):
    errors = validate_definition(_defn("text", max_length=length))
    assert errors == {"max_length": "Must be a whole number from 1 to 10000."}


@pytest.mark.parametrize("length", [None, "", 1, "80", 10000])
def test_a_text_field_up_to_10000_characters_can_be_defined(length):
    assert validate_definition(_defn("text", max_length=length)) == {}
