"""One strict JSON loader for request bodies (the API's parser and the intake webhook).

Python's json module accepts what PostgreSQL's jsonb and text columns cannot store, or what
a view cannot compute with: NaN and Infinity (also a number like 1e400, which becomes inf),
NUL in strings, lone UTF-16 surrogates ("\\ud800"), and nesting deep enough to exhaust the
stack (a RecursionError, i.e. a 500). `loads` refuses each with a message a sender can act
on, so callers answer 400 instead of failing later at the database.
"""

import json
import math
import re

MAX_DEPTH = 64  # deeper than any payload a CRM or a script sends; far below the stack limit
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


class BodyError(ValueError):
    """A body that is not strict JSON; str() is the message for the sender, and `path` the
    dotted place of the bad text ("title", "stages.0.name") when there is one."""

    def __init__(self, message, path=""):
        super().__init__(message)
        self.path = path


def _refuse_constant(name):
    raise BodyError(f"{name} is not a JSON number; send a finite number or null.")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise BodyError(f"The number {text[:40]} is too large.")
    return value


def _check_text(text, path):
    match = _UNSTORABLE.search(text)
    if match is None:
        return
    if match.group() == "\x00":
        raise BodyError("Text must not contain the NUL character (\\u0000).", path)
    raise BodyError(
        "Text must not contain a lone surrogate (such as \\ud800): send valid UTF-8 or a "
        "complete surrogate pair.",
        path,
    )


def _check_tree(value, max_depth, per_field_keys):
    """Depth and text checks without recursion (the value may be deep or wide). Text under a
    top-level key in `per_field_keys` is left to the validator that names its field."""
    stack = [(value, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, str):
            _check_text(node, path)
        elif isinstance(node, (dict, list)):
            if depth > max_depth:
                raise BodyError(f"The JSON is nested deeper than {max_depth} levels.")
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in items:
                where = f"{path}.{key}" if path else str(key)
                if isinstance(key, str):
                    _check_text(key, where)
                checked_later = depth == 1 and isinstance(node, dict) and key in per_field_keys
                if checked_later:
                    _check_depth(child, max_depth - 1)
                else:
                    stack.append((child, depth + 1, where))


def _check_depth(value, max_depth):
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > max_depth:
                raise BodyError(f"The JSON is nested deeper than {max_depth + 1} levels.")
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)


def loads(data, *, max_depth=MAX_DEPTH, per_field_keys=()):
    """The value of a JSON body (bytes are UTF-8), or BodyError saying what is wrong.

    `per_field_keys`: top-level keys whose text a later validator checks and names per field
    (a protocol's `fields`, an intake `mapping`); their depth is still bounded here.
    """
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BodyError(f"The body is not UTF-8 (byte {exc.start}).") from None
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float)
    except BodyError:
        raise
    except RecursionError:
        raise BodyError(f"The JSON is nested deeper than {max_depth} levels.") from None
    except json.JSONDecodeError as exc:
        raise BodyError(
            f"The body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None
    except ValueError as exc:  # e.g. an integer longer than Python converts
        raise BodyError(f"The body is not valid JSON: {exc}") from None
    _check_tree(value, max_depth, per_field_keys)
    return value


def storable_text(text):
    """Text as PostgreSQL can hold it: NUL and lone surrogates become visible escapes."""
    if not _UNSTORABLE.search(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")
