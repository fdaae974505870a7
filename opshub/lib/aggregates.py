"""PostgreSQL aggregates Django does not ship, for every app's statistics."""

from typing import Any

from django.db.models import Aggregate, FloatField


class PercentileCont(Aggregate):
    """percentile_cont(fraction) WITHIN GROUP (ORDER BY expr): linear interpolation."""

    function = "percentile_cont"
    name = "PercentileCont"
    output_field = FloatField()
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)%(filter)s"

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        super().__init__(expression, fraction=float(fraction), **extra)
