"""The robust baseline: the trailing window of a series' values kept in arrival order and
sorted, so its median and median absolute deviation (MAD) cost O(log n) per point. The
judge (``judging.py``) puts a point beyond median ± k·1.4826·MAD as bad."""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable

#: 1.4826 · MAD estimates the standard deviation of normally distributed data.
MAD_TO_SIGMA = 1.4826


class Window:
    """The trailing ``size`` values in arrival order and sorted, for an O(log n)
    median and MAD (inserting into a list of a few hundred floats is a memmove)."""

    __slots__ = ("fifo", "size", "sorted")

    def __init__(self, size: int, values: Iterable[float] = ()) -> None:
        self.size = size
        self.fifo: deque[float] = deque(values)
        while len(self.fifo) > size:
            self.fifo.popleft()
        self.sorted: list[float] = sorted(self.fifo)

    def __len__(self) -> int:
        return len(self.fifo)

    def add(self, value: float) -> None:
        self.fifo.append(value)
        insort(self.sorted, value)
        if len(self.fifo) > self.size:
            old = self.fifo.popleft()
            del self.sorted[bisect_left(self.sorted, old)]

    def median(self) -> float:
        s, n = self.sorted, len(self.sorted)
        half = n // 2
        return s[half] if n % 2 else (s[half - 1] + s[half]) / 2

    def mad(self, median: float) -> float:
        """Median absolute deviation from ``median``, without building the deviations:
        they are two sorted runs (below and above the median), and the k-th smallest
        of two sorted runs is a binary search."""
        n = len(self.sorted)
        half = n // 2
        if n % 2:
            return self._kth_deviation(half, median)
        return (self._kth_deviation(half - 1, median) + self._kth_deviation(half, median)) / 2

    def _kth_deviation(self, k: int, m: float) -> float:
        s = self.sorted
        p = bisect_left(s, m)  # s[:p] < m <= s[p:]
        na, nb = p, len(s) - p

        # below[i] = m - s[p-1-i] and above[j] = s[p+j] - m, both increasing
        def below(i: int) -> float:
            return m - s[p - 1 - i]

        def above(j: int) -> float:
            return s[p + j] - m

        # take i from below and k+1-i from above: the smallest i with below[i] >= above[k-i]
        lo, hi = max(0, k + 1 - nb), min(k + 1, na)
        while lo < hi:
            i = (lo + hi) // 2
            if below(i) < above(k - i):
                lo = i + 1
            else:
                hi = i
        i, j = lo, k + 1 - lo
        return max(below(i - 1) if i > 0 else -math.inf, above(j - 1) if j > 0 else -math.inf)
