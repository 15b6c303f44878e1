"""The small closed sets of words the server and its watchers share: where a client
stands, why it closed and how its socket closes. Imports nothing of ours.
"""

from __future__ import annotations

import errno
from enum import Enum, StrEnum


class ClientState(StrEnum):
    """Where a client stands. The core reports the first four; the view adds two."""

    HANDSHAKE = "handshake"
    """A TLS client still negotiating (`--tls`): nothing is echoed yet."""
    OPEN = "open"
    """Connected; what it sends is echoed."""
    PAUSED = "paused"
    """Reading stopped by backpressure (`--max-buffer` or `--max-memory`)."""
    HALF_CLOSED = "half-closed"
    """It shut down its sending side; the rest is echoed, then the server closes."""
    CLOSING = "closing"
    """The operator asked to kick or reset it; the close is on its way (view only)."""
    CLOSED = "closed"
    """Gone (view only: the row lingers a moment with its close reason)."""


FAULT_OFF = "off"
"""The fault SPEC that means no fault."""


class CloseHow(Enum):
    """How the loop closes a socket."""

    AS_IS = "as is"
    """Just close: the client is gone or the socket failed."""
    FIN = "fin"
    """Shut down the sending side, discard unread input, close: the client sees EOF,
    never an RST that would wipe what the kernel still had to deliver."""
    RST = "rst"
    """Abort (SO_LINGER 0): the client sees ECONNRESET."""


class CloseReason(StrEnum):
    """Why the server closed a client, when the reason is one of its own (a failed
    socket's reason is the error's words instead, closed as it is). Each reason
    says how the socket closes (`how`)."""

    PEER_CLOSED = "peer closed"
    """The client shut down its sending side and everything pending went."""
    KICKED = "kicked"
    """The operator kicked it."""
    RESET = "reset"
    """The operator reset it."""
    SHUTDOWN = "shutdown"
    """The server stops."""
    IDLE_TIMEOUT = "idle timeout"
    """It sent nothing for `--idle-timeout`."""
    IDLE = "idle"
    """A UDP peer sent nothing for `--idle-timeout` (60 s without): forgotten."""
    FORGOTTEN = "forgotten"
    """A UDP peer was kicked: forgotten (UDP has no way to tell the peer)."""
    CLOSE_AFTER = "close-after"
    """Its `close-after` fault echoed its bytes."""
    RESET_AFTER = "reset-after"
    """Its `reset-after` fault received its bytes."""
    CLOSE_IN = "close-in"
    """Its `close-in` fault's time came."""
    RESET_IN = "reset-in"
    """Its `reset-in` fault's time came."""
    HANDSHAKE_TIMEOUT = "handshake timeout"
    """A TLS client did not finish its handshake within `--handshake-timeout`."""

    @property
    def how(self) -> CloseHow:
        """How the socket closes for this reason."""
        return _HOW[self._value_]


_HOW = {reason.value: CloseHow.FIN for reason in CloseReason} | {
    CloseReason.PEER_CLOSED.value: CloseHow.AS_IS,
    CloseReason.RESET.value: CloseHow.RST,
    CloseReason.RESET_AFTER.value: CloseHow.RST,
    CloseReason.RESET_IN.value: CloseHow.RST,
}
"""How each reason closes, by its text (a str key: looked up at every close, and an
enum member's hash is a Python call)."""


_ERROR_REASONS = {
    errno.ECONNRESET: "reset by peer",
    errno.EPIPE: "broken pipe",
    errno.ETIMEDOUT: "timed out",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
}


def error_reason(error: OSError) -> str:
    """A short, stable reason for an error on a client's socket."""
    if error.errno in _ERROR_REASONS:
        return _ERROR_REASONS[error.errno]
    if isinstance(error, TimeoutError):
        return "timed out"
    text = error.strerror or str(error) or type(error).__name__
    return text[0].lower() + text[1:]
