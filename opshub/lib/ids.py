"""Ids read from query strings and forms."""


def parse_id(raw):
    """The positive whole number in `raw`, or None.

    A lookup by None finds nothing, so `get_object_or_404(Model, pk=parse_id(raw))` answers
    404 for `?team=abc` where the raw string would raise ValueError (a 500).
    """
    raw = str(raw or "").strip()
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    return None
