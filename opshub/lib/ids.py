"""Ids and whole numbers read from requests: paths, query strings, forms, headers, JSON.

One parser for all of them, so `²`, `%C2%B2`, `٣`, `-1` or a 5000-digit number answers 400 or
404 everywhere instead of reaching `int()` (which takes Unicode digits and refuses more than
4300 of them with ValueError) or PostgreSQL (which refuses more than a bigint holds).
"""

import re

# PostgreSQL's bigint: the largest primary key an id column can hold.
MAX_ID = 2**63 - 1

# ASCII digits only (`str.isdigit` also accepts "²" and "٣"), and no more than a bigint has,
# so the conversion below is cheap and never raises.
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,19}", re.ASCII)


def parse_int(raw, *, min=None, max=None):
    """The whole number written in `raw` (ASCII digits, an optional leading minus, spaces
    around ignored) when it lies within [min, max], else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    else:
        text = str(raw if raw is not None else "").strip()
        if not _WHOLE_NUMBER.fullmatch(text):
            return None
        value = int(text)
    if (min is not None and value < min) or (max is not None and value > max):
        return None
    return value


def parse_id(raw):
    """The positive id in `raw`, or None.

    A lookup by None finds nothing, so `get_object_or_404(Model, pk=parse_id(raw))` answers
    404 for `?team=abc` where the raw string would raise ValueError (a 500).
    """
    return parse_int(raw, min=1, max=MAX_ID)
