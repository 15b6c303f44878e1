"""The process's own limits, set once at start by the command."""

from __future__ import annotations

import contextlib
import resource


def allow_all_descriptors() -> int:
    """Raise the soft limit of open descriptors to the hard one (a server holding
    10,000 clients needs as many; the usual soft limit is 1,024); the limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft >= hard:
        return soft
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft
