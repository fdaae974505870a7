"""A paginator that counts only as far as it needs to.

An exact COUNT(*) of a filtered list grows with history: "every item of this workflow
older than 30 days" is 30,000 rows at 100,000 items, and a title search visits a heap
page per match. Counting stops a fixed number of rows past the requested page instead,
so a page costs the same after two years as after two weeks (`make bench`), and the
page says "1,000+" rather than a number nobody needs exactly. Older pages stay
reachable: each page counts the same distance past itself.
"""

from functools import cached_property

from django.core.paginator import Paginator

from opshub.lib.ids import parse_int

COUNT_AHEAD = 1000


class CappedPaginator(Paginator):
    def __init__(self, object_list, per_page, *, page, ahead=None, counted=None):
        """`counted`: the same rows without what only the page needs (annotations that
        join other tables); by default `object_list` itself."""
        super().__init__(object_list, per_page)
        self.requested = _page_number(page)
        self.ahead = COUNT_AHEAD if ahead is None else ahead
        self.to_count = object_list if counted is None else counted

    @cached_property
    def _limit(self):
        return (self.requested - 1) * self.per_page + self.ahead + 1

    @cached_property
    def _in_reach(self):
        # Unordered and unjoined: an ORDER BY would make PostgreSQL walk the sort index
        # and test every row on the way (a search's matches are spread through history).
        return self.to_count.order_by().values("pk")[: self._limit].count()

    @cached_property
    def count(self):
        """Rows up to `ahead` past the requested page's first row (not always the total)."""
        return min(self._in_reach, self._limit - 1)

    @cached_property
    def is_capped(self):
        """True when there are more rows than `count` says: show it as "count+"."""
        return self._in_reach == self._limit

    def get_page(self, number=None):
        return super().get_page(self.requested if number is None else number)


def _page_number(value):
    return parse_int(value, min=1) or 1
