"""The *My work* home: what waits for one person across every app (docs/work-items.md)."""
