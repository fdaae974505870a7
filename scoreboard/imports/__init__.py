"""Imports of a history that run behind a progress bar: an event-log CSV from
/scoreboard/import/, or the log of a discovered map through "Create this workflow"."""
