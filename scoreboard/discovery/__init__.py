"""Discovery: the real map of a process, read from an event-log export (CSV or XES).

`readers` streams a log into compact events, `counting` turns them into the
directly-follows graph, variants and handover networks (counted as pm4py counts
them, without pm4py), `models` keeps an uploaded log as a baseline, and the
views draw the discovered map and turn its main path into a draft workflow.
See docs/discovery.md.
"""
