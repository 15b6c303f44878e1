"""The poller the loop waits on: epoll where there is one, poll elsewhere.

One set of interest bits for both: `READ`, `WRITE`, and `TROUBLE` (an error or a
hang-up, reported whatever the interest).
"""

from __future__ import annotations

import select
from collections.abc import Callable

READ = select.POLLIN
"""Interest in readability (the same bit for poll and epoll)."""
WRITE = select.POLLOUT
"""Interest in writability."""
TROUBLE = select.POLLERR | select.POLLHUP
"""Reported whatever the interest: an error, or both directions shut."""
READABLE = READ | TROUBLE
"""What a ready mask reports when a read should be tried."""


class Poller:
    """epoll where there is one, poll elsewhere: the same calls, timeouts in seconds.

    `select.epoll` straight, rather than `selectors`: the wrappers cost a Python
    call and a key lookup per ready socket, a tenth of an echo's time.
    """

    def __init__(self) -> None:
        if hasattr(select, "epoll"):
            self._impl: select.epoll | select.poll = select.epoll()
            self.poll: Callable[[float], list[tuple[int, int]]] = self._impl.poll
        else:  # pragma: no cover - Linux has epoll
            self._impl = select.poll()
            impl = self._impl
            self.poll = lambda timeout: impl.poll(timeout * 1000)
        self.register: Callable[[int, int], None] = self._impl.register
        self.modify: Callable[[int, int], None] = self._impl.modify
        self.unregister: Callable[[int], None] = self._impl.unregister

    def close(self) -> None:
        if isinstance(self._impl, select.epoll):
            self._impl.close()
