"""Hypothesis strategies for protocol field values: valid ones per field type, and the
hostile ones a careless sender or an attacker sends (NUL, lone surrogates, objects, numbers
that overflow). Shared by the property tests and the schemathesis fuzz run."""

import datetime
from decimal import Decimal

from hypothesis import strategies as st

# Any code point: surrogates included (hypothesis leaves them out by default), NUL often.
any_character = st.characters(codec=None, exclude_categories=()) | st.just("\x00")
hostile_text = st.text(any_character, max_size=30) | st.sampled_from(
    ["\x00", "PO-\x001", "\ud800", "a\udfffb", "\ud83d"]
)
# For clients that cannot encode a lone surrogate (schemathesis): NUL stays.
nul_text = st.text(st.characters(codec="utf-8") | st.just("\x00"), max_size=30)
_hostile_scalars = st.one_of(
    st.sampled_from(["1e400", "9" * 5000, "-1E+16", "NaN", "-Infinity", "2026-02-30", "0x10"]),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),  # JSON has no NaN or Infinity
    st.booleans(),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.lists(st.integers(), max_size=2),
)
hostile_values = hostile_text | _hostile_scalars
_plain_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40)


def _bounded_decimal(defn, places):
    low = Decimal(str(defn["min"])) if defn.get("min") not in (None, "") else Decimal(-(10**14))
    high = Decimal(str(defn["max"])) if defn.get("max") not in (None, "") else Decimal(10**14)
    return st.decimals(min_value=low, max_value=high, places=places).map(str)


def valid_value(defn):
    """A value the field accepts (or leaves empty)."""
    kind = defn["type"]
    if kind in ("text", "long_text"):
        limit = min(int(defn.get("max_length") or 40), 40)
        return _plain_text.filter(lambda text: len(text.strip()) <= limit)
    if kind in ("number", "money"):
        return _bounded_decimal(defn, 2 if kind == "money" else 4)
    if kind == "date":
        return st.dates(datetime.date(2000, 1, 1), datetime.date(2100, 1, 1)).map(str)
    if kind == "url":
        return st.sampled_from(["https://example.com/po/1", "http://crm.example.org/d?id=9"])
    if kind == "email":
        return st.sampled_from(["ada@example.com", "ops+1@example.org"])
    if kind == "choice":
        return st.sampled_from(defn["choices"])
    return st.booleans() | st.sampled_from(["yes", "no"])


def field_values(definitions, *, surrogates=True):
    """A `fields` dict for these definitions: any subset of their keys, each with a valid or
    a hostile value, sometimes with an unknown key (which may hold NUL or a surrogate)."""
    text = hostile_text if surrogates else nul_text
    known = st.fixed_dictionaries(
        {},
        optional={
            defn["key"]: valid_value(defn) | text | _hostile_scalars | st.none()
            for defn in definitions
        },
    )
    unknown = st.dictionaries(text, _plain_text, max_size=1)
    return st.tuples(known, unknown).map(lambda pair: {**pair[1], **pair[0]})


ALL_TYPES = [
    {"key": "po_number", "label": "PO number", "type": "text", "max_length": 20},
    {"key": "notes", "label": "Notes", "type": "long_text"},
    {"key": "quantity", "label": "Quantity", "type": "number", "min": 1, "max": 1000},
    {"key": "amount", "label": "Amount", "type": "money", "min": 0},
    {"key": "ship_by", "label": "Ship by", "type": "date"},
    {"key": "contract", "label": "Contract", "type": "url"},
    {"key": "contact", "label": "Contact", "type": "email"},
    {"key": "plan", "label": "Plan", "type": "choice", "choices": ["Basic", "Pro"]},
    {"key": "rush", "label": "Rush", "type": "yes_no"},
]
