"""Streaming readers for event logs: CSV (as `import_events` reads it) and XES, plain or gzip.

Both yield the same compact `LogEvent`s, so a log exported either way gives the same
discovery. XES is read with expat callbacks, one element at a time (a 100 MB log is
never held whole); a document type declaration is refused before any entity could be
expanded. Lifecycle: `complete` events are kept (as the baseline import keeps them),
events without a lifecycle too; `start` events are kept aside to measure how long
activities take; any other transition (schedule, assign…) is counted and dropped.
"""

import codecs
import csv
import datetime
import gzip
import io
import xml.parsers.expat
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

MAX_ERRORS = 200
KEPT_TRANSITIONS = ("complete", "")
START_TRANSITION = "start"


class LogEvent(NamedTuple):
    """One event; `seq` is its position in the file, the tie-break between equal times."""

    case: str
    at: float  # seconds since the epoch, UTC
    seq: int
    activity: str
    resource: str
    team: str
    attributes: tuple  # names of the other attributes with a value (what travels)


@dataclass(frozen=True)
class Columns:
    """Where each field is: CSV column names, or XES attribute keys (see `for_xes`)."""

    case: str = "case_id"
    activity: str = "activity"
    timestamp: str = "timestamp"
    resource: str = "resource"
    team: str = "group"
    lifecycle: str = "lifecycle"

    XES_DEFAULTS = {
        "case_id": "concept:name",
        "activity": "concept:name",
        "timestamp": "time:timestamp",
        "resource": "org:resource",
        "group": "org:group",
        "lifecycle": "lifecycle:transition",
    }

    def for_xes(self):
        """CSV defaults become the XES standard keys; names the user chose stay."""
        return Columns(
            **{
                name: self.XES_DEFAULTS.get(getattr(self, name), getattr(self, name))
                for name in ("case", "activity", "timestamp", "resource", "team", "lifecycle")
            }
        )


@dataclass
class EventLog:
    events: list = field(default_factory=list)
    starts: list = field(default_factory=list)  # LogEvents of `start` transitions
    errors: list = field(default_factory=list)  # [(line, message)]
    dropped: Counter = field(default_factory=Counter)  # other transitions: {name: count}
    naive_timestamps: int = 0
    format: str = "csv"
    max_events: int | None = None

    def error(self, line, message):
        if len(self.errors) < MAX_ERRORS:
            self.errors.append((line, message))

    @property
    def is_valid(self):
        return bool(self.events) and not self.errors

    def keep(self, event, transition):
        if self.max_events and len(self.events) + len(self.starts) >= self.max_events:
            raise TooManyEvents(event.seq)
        transition = transition.strip().lower()
        if transition in KEPT_TRANSITIONS:
            self.events.append(event)
        elif transition == START_TRANSITION:
            self.starts.append(event)
        else:
            self.dropped[transition] += 1


class TooManyEvents(Exception):
    """More events than the caller accepts (an upload is bounded before it is counted)."""


class _Interned(dict):
    """One shared tuple per distinct set of attribute names: a log has few of them."""

    def __missing__(self, key):
        self[key] = key
        return key


def parse_timestamp(text):
    """(epoch seconds, naive?) of an ISO-8601 text; a time without offset is UTC."""
    value = datetime.datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.UTC).timestamp(), True
    return value.timestamp(), False


def _unpacked(stream):
    """The binary stream, gunzipped when it starts with gzip's magic bytes."""
    stream = stream if hasattr(stream, "peek") else io.BufferedReader(stream)
    if stream.peek(2)[:2] == b"\x1f\x8b":
        stream = io.BufferedReader(gzip.GzipFile(fileobj=stream))
    return stream


def read_event_log(path_or_file, columns=Columns(), *, max_events=None):
    """Reads a CSV or XES log (a path or a binary file), sniffed from its first characters;
    every problem names its line. Past `max_events` it stops with one error."""
    if isinstance(path_or_file, str) or hasattr(path_or_file, "__fspath__"):
        with open(path_or_file, "rb") as raw:
            return read_event_log(raw, columns, max_events=max_events)
    log = EventLog(max_events=max_events)
    try:
        stream = _unpacked(path_or_file)
        head = stream.peek(64)[:64].lstrip(codecs.BOM_UTF8).lstrip()
        if head.startswith(b"<"):
            log.format = "xes"
            read_xes(stream, columns.for_xes(), log=log)
        else:
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
            read_csv(text, columns, log=log)
    except TooManyEvents as exc:
        log.error(
            exc.args[0],
            f"More than {max_events:,} events: count this log with manage.py discover_map.",
        )
    except (OSError, EOFError, zlib.error) as exc:  # a truncated or corrupt gzip stream
        log.error(0, f"The file cannot be read to its end ({exc}).")
    return log


def read_csv(text_stream, columns=Columns(), *, log=None):
    log = log or EventLog(format="csv")
    reader = csv.reader(text_stream)
    try:
        header = next(reader, None)
        if header is None:
            log.error(1, "The file is empty.")
            return log
        index = _csv_index(header, columns, log)
        if index is None:
            return log
        width, interned = len(header), _Interned()
        extras = [(i, name.strip()) for i, name in enumerate(header) if i not in index.values()]
        for number, values in enumerate(reader, start=2):
            if values and any(v.strip() for v in values):
                _csv_row(log, number, values, index, width, extras, interned)
    except UnicodeDecodeError:
        log.error(1, "The file is not UTF-8 text.")
    except csv.Error as exc:
        log.error(reader.line_num, f"Not a readable CSV row ({exc}).")
    if not log.events and not log.starts and not log.errors:
        log.error(2, "The file has a header but no events.")
    return log


def _csv_index(header, columns, log):
    names = [h.strip().lstrip("\ufeff") for h in header]
    lowered = [n.lower() for n in names]
    required = {"case": columns.case, "activity": columns.activity, "timestamp": columns.timestamp}
    missing = [name for name in required.values() if name.lower() not in lowered]
    if missing:
        log.error(1, f"Missing column(s): {', '.join(missing)}. Found: {', '.join(names)}.")
        return None
    index = {key: lowered.index(name.lower()) for key, name in required.items()}
    for key in ("resource", "team", "lifecycle"):
        name = getattr(columns, key).lower()
        if name in lowered:
            index[key] = lowered.index(name)
    return index


def _csv_row(log, number, values, index, width, extras, interned):
    if len(values) != width:
        log.error(number, f"Expected {width} columns, found {len(values)}.")
        return
    case, activity = values[index["case"]].strip(), values[index["activity"]].strip()
    problem, at, naive = _checked(case, activity, values[index["timestamp"]])
    if problem:
        log.error(number, problem)
        return
    log.naive_timestamps += naive
    event = LogEvent(
        case,
        at,
        number,
        activity,
        values[index["resource"]].strip() if "resource" in index else "",
        values[index["team"]].strip() if "team" in index else "",
        interned[tuple(name for i, name in extras if values[i].strip())],
    )
    log.keep(event, values[index["lifecycle"]] if "lifecycle" in index else "")


def _checked(case, activity, stamp, *, where=""):
    """(problem or None, epoch seconds, naive?) of one event's fields."""
    problems, at, naive = [], None, False
    if not case:
        problems.append(f"the case id{where} is empty")
    if not activity:
        problems.append("the activity is empty")
    try:
        at, naive = parse_timestamp(stamp or "")
    except ValueError:
        problems.append(f"timestamp “{stamp}” is not ISO-8601" if stamp else "no timestamp")
    if not problems:
        return None, at, naive
    message = "; ".join(problems)
    return message[0].upper() + message[1:] + ".", at, naive


class _XesReader:
    """Expat callbacks: attributes of a trace and of its events, nothing nested deeper."""

    def __init__(self, parser, columns, log):
        self.parser, self.columns, self.log = parser, columns, log
        self.stack = []
        self.trace = None  # {key: value} of the current trace
        self.trace_events = []  # [(line, {key: value})]
        self.event = None
        self.seq = 0
        self.interned = _Interned()
        self.skip = {columns.activity, columns.timestamp, columns.resource, columns.team,
                     columns.lifecycle}  # fmt: skip

    def start(self, name, attrs):
        name = name.rsplit(":", 1)[-1]
        parent = self.stack[-1] if self.stack else None
        self.stack.append(name)
        if name == "trace" and parent == "log":
            self.trace, self.trace_events = {}, []
        elif name == "event" and parent == "trace":
            self.seq += 1
            self.event = (self.parser.CurrentLineNumber, self.seq, {})
        elif "key" in attrs and parent == "event" and self.event is not None:
            self.event[2][attrs["key"]] = attrs.get("value", "")
        elif "key" in attrs and parent == "trace" and self.trace is not None:
            self.trace[attrs["key"]] = attrs.get("value", "")

    def end(self, name):
        name = self.stack.pop().rsplit(":", 1)[-1]
        if name == "event" and self.event is not None and self.trace is not None:
            self.trace_events.append(self.event)
            self.event = None
        elif name == "trace" and self.trace is not None:
            for line, seq, values in self.trace_events:
                self._emit(line, seq, values)
            self.trace = None

    def _emit(self, line, seq, values):
        columns, case = self.columns, self.trace.get(self.columns.case, "").strip()
        activity, stamp = values.get(columns.activity, "").strip(), values.get(columns.timestamp)
        problem, at, naive = _checked(case, activity, stamp, where=" (trace concept:name)")
        if problem:
            self.log.error(line, problem)
            return
        self.log.naive_timestamps += naive
        names = tuple(k for k, v in values.items() if k not in self.skip and str(v).strip())
        event = LogEvent(
            case,
            at,
            seq,
            activity,
            values.get(columns.resource, "").strip(),
            values.get(columns.team, "").strip() or self.trace.get(columns.team, "").strip(),
            self.interned[names],
        )
        self.log.keep(event, values.get(columns.lifecycle, ""))


def _refuse_dtd(*args):
    raise ValueError("a document type declaration (DTD) is not accepted in an event log")


def read_xes(binary_stream, columns=None, *, log=None):
    log = log or EventLog(format="xes")
    columns = columns or Columns().for_xes()
    parser = xml.parsers.expat.ParserCreate()
    reader = _XesReader(parser, columns, log)
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    try:
        parser.ParseFile(binary_stream)
    except xml.parsers.expat.ExpatError as exc:
        log.error(exc.lineno, f"Not well-formed XES: {xml.parsers.expat.ErrorString(exc.code)}.")
    except ValueError as exc:
        log.error(parser.CurrentLineNumber, f"Not accepted: {exc}.")
    except (OSError, EOFError, zlib.error) as exc:  # a truncated or corrupt gzip stream
        log.error(parser.CurrentLineNumber, f"The file cannot be read to its end ({exc}).")
    if not log.events and not log.starts and not log.errors:
        log.error(1, "The file has no events (an XES log holds <trace> elements with <event>s).")
    return log
