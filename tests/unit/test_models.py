"""new_id: prefixed, unique, time-ordered identifiers."""

from __future__ import annotations

import re
from itertools import pairwise

from hookline.models import new_id

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SUFFIX = rf"[{CROCKFORD}]{{26}}"


class TestNewId:
    def test_shape(self) -> None:
        """An id is the prefix, an underscore and 26 Crockford base32 digits."""
        assert re.fullmatch(rf"evt_{SUFFIX}", new_id("evt"))
        assert re.fullmatch(rf"dlv_{SUFFIX}", new_id("dlv"))

    def test_unique(self) -> None:
        """Ids made in a burst are all different."""
        ids = [new_id("evt") for _ in range(10_000)]

        assert len(set(ids)) == len(ids)

    def test_creation_order_is_sort_order(self) -> None:
        """Each id sorts after every id made before it, even within one millisecond."""
        ids = [new_id("evt") for _ in range(10_000)]

        assert ids == sorted(ids)
        assert all(a < b for a, b in pairwise(ids))

    def test_order_holds_across_prefixes(self) -> None:
        """Ids of different kinds share one clock: their suffixes sort by creation."""
        first, second, third = new_id("evt"), new_id("dlv"), new_id("att")

        suffixes = [i.split("_", 1)[1] for i in (first, second, third)]
        assert suffixes == sorted(suffixes)
        assert len(set(suffixes)) == 3
