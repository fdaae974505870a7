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
    """A body that is not strict JSON; str() is the message for the sender."""


def _refuse_constant(name):
    raise BodyError(f"{name} is not a JSON number; send a finite number or null.")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise BodyError(f"The number {text[:40]} is too large.")
    return value


def _check_text(text):
    match = _UNSTORABLE.search(text)
    if match is None:
        return
    if match.group() == "\x00":
        raise BodyError("Text must not contain the NUL character (\\u0000).")
    raise BodyError(
        "Text must not contain a lone surrogate (such as \\ud800): send valid UTF-8 or a "
        "complete surrogate pair."
    )


def _check_tree(value, max_depth):
    """Depth and text checks without recursion (the value may be deep or wide)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            _check_text(node)
        elif isinstance(node, (dict, list)):
            if depth > max_depth:
                raise BodyError(f"The JSON is nested deeper than {max_depth} levels.")
            if isinstance(node, dict):
                for key, child in node.items():
                    _check_text(key)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in node)


def loads(data, *, max_depth=MAX_DEPTH):
    """The value of a JSON body (bytes are UTF-8), or BodyError saying what is wrong."""
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
    _check_tree(value, max_depth)
    return value


def storable_text(text):
    """Text as PostgreSQL can hold it: NUL and lone surrogates become visible escapes."""
    if not _UNSTORABLE.search(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")
