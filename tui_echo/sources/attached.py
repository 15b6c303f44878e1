"""`RemoteServer`: a tui-echo server in another process, through its control socket.

`tui-echo attach PATH` gives the monitor one of these instead of an `EchoServer`:
the same feed of events and the same commands, over the socket. Two connections:
one streams `EVENTS`, the other carries `LIST`, `STATS`, `HISTORY` and then the
commands, from a worker thread, so the monitor never waits on a socket.

Attaching starts from the server's truth with no gap and no double count: the
stream is opened first and what it says is held back (attach_stream.py) while
`LIST`, `STATS` and `HISTORY` are asked (attach_snapshot.py); `prepare(book)`
brings the monitor's book to that snapshot (book/seed.py) and folds the held
events the snapshot does not reflect (each event's `seq` against its client's
`LIST` line and `STATS`); later events go to the feed. When the server goes away
the feed says so with an `error` event, and the clock stops. This module connects,
carries the commands, and detaches.

Whatever answers at the path is untrusted (control/client.py, control/answers.py):
every line has a limit, every field is checked, every wait has a deadline or is
ended by shutting the sockets down; a bad answer is said in words, escaped, never a
traceback.
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import stat
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from tui_echo.book.seed import Snapshot, seed_book
from tui_echo.control.answers import parse_activity, parse_kernel, parse_recent
from tui_echo.control.client import (
    BadAnswerError,
    CancelledError,
    ControlClientError,
    LineReader,
    NoAnswerError,
    RefusedError,
    ServerClosedError,
    read_reply,
)
from tui_echo.engine.feed import EventFeed
from tui_echo.events import ClientData, Event, KernelStats, ServerError
from tui_echo.faults import FaultActivity, FaultSpec, fault_text
from tui_echo.faults.listener import ListenerFault, listener_text
from tui_echo.sources.attach_snapshot import take_snapshot
from tui_echo.sources.attach_stream import EventStream
from tui_echo.sources.contract import (
    Commands,
    FaultTarget,
    KernelProbe,
    Mode,
    Playback,
    Seed,
)
from tui_echo.words import os_reason, quoted

if TYPE_CHECKING:
    from tui_echo.book import ClientBook

ATTACH_TIMEOUT = 5.0
"""Seconds the whole first look may take (connect, `EVENTS`, `LIST`, `STATS`,
`HISTORY`): a server that does not answer, or trickles, is given up on."""
REPLY_TIMEOUT = 5.0
"""Seconds a command's answer may take once attached."""
JOIN_TIMEOUT = 1.0
"""Seconds to wait for a thread when detaching (its socket is shut down: it ends at
once)."""

KEEPALIVE = 2.0
"""Seconds of silence after which the command connection says `PING`: the server
gives the place of a session silent for 5 s to a newcomer when all are taken."""


class AttachError(Exception):
    """Nothing to attach to at that path, or it answered wrongly: one line for the
    operator, every quoted part escaped."""


class AttachCancelledError(AttachError):
    """A stop signal came while attaching: leave quietly."""


class RemoteServer:
    """The monitor's view of a server behind a control socket (any thread).

    A `Source` with commands and kernel probes (the server answers `KERNEL` where
    it can, Linux; elsewhere it says nothing, and the columns stay empty), and no
    playback."""

    mode: Mode = "attached"
    playback: Playback | None = None

    def __init__(
        self,
        path: str,
        *,
        cancel: threading.Event | None = None,
        timeout: float = ATTACH_TIMEOUT,
        reply_timeout: float = REPLY_TIMEOUT,
    ) -> None:
        """Attach: connect twice, open the stream, take the snapshot (main thread).

        Raises:
            AttachError: nothing to attach to, or the server answered wrongly or
                not in time (`timeout` seconds for all of it).
            AttachCancelledError: `cancel` was set meanwhile.
        """
        self.path = path
        self.commands: Commands | None = self
        self.kernel: KernelProbe | None = self
        self.feed = EventFeed()
        self.gone = False
        """The server closed the events stream (it stopped, or cut us off)."""
        self.cut_off = False
        """The server cut this monitor off (too slow) or said what it did not
        expect: it may well be running still."""
        self.snapshot: Snapshot | None = None
        """What the server said of itself when attached (`prepare` uses it)."""
        self._reply_timeout = reply_timeout
        self._ended_at: float | None = None
        self._ended = False
        self._ending = threading.Lock()
        self._closed = False
        self.seed: Seed | None = self.prepare
        self._threads: list[threading.Thread] = []
        self._requests: queue.Queue[list[str] | None] = queue.Queue()
        self._kernel: dict[int, KernelStats] = {}
        self._recent: dict[int, bytes] = {}
        self._activity: dict[int, FaultActivity | None] = {}
        self._inspected: set[int] = set()
        deadline = time.monotonic() + timeout
        self._stream = _connect(path, timeout)
        try:
            self._commands = _connect(path, timeout)
        except AttachError:
            self._stream.close()
            raise
        self._events = EventStream(self._stream, self._publish, self._end)
        self._replies = LineReader(self._commands)
        try:
            try:
                self._first_look(deadline, cancel)
            except (ControlClientError, OSError):
                reason = self._events.end_reason
                if reason is not None:  # the stream said what went wrong
                    raise BadAnswerError(reason) from None
                raise
        except CancelledError:
            self.close()
            raise AttachCancelledError("stopped while attaching") from None
        except NoAnswerError:
            self.close()
            raise AttachError(
                f"cannot attach to {quoted(path, 200)}: the server did not answer"
                f" within {timeout:g} s"
            ) from None
        except ServerClosedError:
            self.close()
            raise AttachError(
                f"cannot attach to {quoted(path, 200)}: the server closed the"
                " connection before it answered"
            ) from None
        except ControlClientError as exc:
            self.close()
            raise AttachError(f"cannot attach to {quoted(path, 200)}: {exc}") from None
        except OSError as exc:
            self.close()
            raise AttachError(
                f"cannot attach to {quoted(path, 200)}: {os_reason(exc)}"
            ) from None
        self._worker = threading.Thread(
            target=self._run_commands, name="tui-echo-commands", daemon=True
        )
        self._threads.append(self._worker)
        self._worker.start()

    # ---- the first look ------------------------------------------------------------

    def _first_look(self, deadline: float, cancel: threading.Event | None) -> None:
        """Open the stream, then take the snapshot while the stream is held back."""
        self._threads.append(self._events.open(deadline, cancel))
        self.snapshot = take_snapshot(
            self._commands, self._replies, self._events, deadline, cancel
        )

    def prepare(self, book: ClientBook) -> None:
        """Bring a fresh `book` to the server as it was when attached, with the
        events held meanwhile (once, before the book folds anything from the feed;
        `tui-echo attach` calls it with the monitor's book)."""
        early = self._events.take_early()
        if self.snapshot is not None:
            seed_book(book, self.snapshot, early)

    # ---- commands (any thread; they go out in order, on the worker) -------------

    def kick(self, client_id: int) -> None:
        self._send(f"KICK {client_id}")

    def reset(self, client_id: int) -> None:
        self._send(f"RESET {client_id}")

    def kick_all(self) -> None:
        self._send("KICK all")

    def set_fault(self, target: FaultTarget, spec: FaultSpec | str | None) -> None:
        text = spec if isinstance(spec, str) else fault_text(spec)
        self._send(f"FAULT {target} {text}")

    def set_listener_fault(self, fault: ListenerFault | str | None) -> None:
        text = fault if isinstance(fault, str) else listener_text(fault)
        self._send(f"LISTENER {text}")

    def inspect(self, client_id: int, enabled: bool = True) -> None:
        if enabled:
            self._inspected.add(client_id)
        else:
            self._inspected.discard(client_id)
            self._recent.pop(client_id, None)
        self._send(f"INSPECT {client_id} {'on' if enabled else 'off'}")

    def watch_kernel(self, client_ids: Iterable[int]) -> None:
        """Refresh what the screen shows: kernel numbers of these clients, and the
        recent bytes and fault activity of the inspected ones."""
        lines = []
        ids = " ".join(str(i) for i in client_ids)
        if ids:
            lines.append(f"KERNEL {ids}")
        for client_id in self._inspected:
            lines += [f"RECENT {client_id}", f"ACTIVITY {client_id}"]
        if lines and self._requests.empty():  # never pile up behind a slow server
            self._requests.put(lines)

    def kernel_stats(self, client_id: int) -> KernelStats | None:
        return self._kernel.get(client_id)

    def recent_bytes(self, client_id: int) -> bytes | None:
        return self._recent.get(client_id)

    def fault_activity(self, client_id: int) -> FaultActivity | None:
        return self._activity.get(client_id)

    def clock(self) -> float:
        """The wall clock (the server's events carry its same-host time), stopped
        when the source ended: a server gone has no uptime growing."""
        stopped = self._events.stopped_at  # the server's own last moment
        if stopped is not None:
            return stopped
        ended = self._ended_at
        return time.time() if ended is None else ended

    def stop(self) -> None:
        """Detach: the server goes on serving."""
        self.close()

    def mode_detail(self) -> str:
        if self.cut_off:
            return "cut off"
        return "server gone" if self.gone else ""

    def close(self) -> None:
        """Hang up both connections and let the threads end (any thread; returns
        within about `JOIN_TIMEOUT` whatever the server does)."""
        if self._closed:
            return
        self._closed = True
        self._requests.put(None)
        self._hang_up()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(JOIN_TIMEOUT)
        for sock in (self._stream, self._commands):
            sock.close()

    def _hang_up(self) -> None:
        """Shut both sockets down: a thread blocked on one returns at once."""
        for sock in (self._stream, self._commands):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _end(self, message: str | None, cut_off: bool) -> None:
        """The source is over: say why (unless we hung up), stop the clock, and hang
        up so the other thread ends too."""
        with self._ending:
            if self._ended:
                return  # the other thread said why already
            self._ended = True
        if self._ended_at is None:
            self._ended_at = time.time()
        if cut_off:
            self.cut_off = True
        else:
            self.gone = True
        if message is not None and not self._closed:
            self.feed.publish(ServerError(message=message))
        self._hang_up()

    # ---- the two threads ----------------------------------------------------------

    def _send(self, line: str) -> None:
        self._requests.put([line])

    def _run_commands(self) -> None:
        while True:
            try:
                lines = self._requests.get(timeout=KEEPALIVE)
            except queue.Empty:  # say something: a silent session loses its place
                lines = ["PING"]
            if lines is None:
                return
            try:
                self._commands.sendall("".join(f"{ln}\n" for ln in lines).encode())
                for line in lines:
                    deadline = time.monotonic() + self._reply_timeout
                    try:
                        reply = read_reply(
                            self._replies, line.split()[0], deadline, max_lines=1000
                        )
                    except RefusedError:  # `no client 7`: it left meanwhile
                        self._forget(line)
                        continue
                    self._take(line, reply)
            except (OSError, ServerClosedError):
                if not self._closed:  # the stream may go on: say what was lost
                    self._end(
                        "the server closed the command connection: kick, reset"
                        " and faults no longer reach it (attach again)",
                        cut_off=True,
                    )
                return
            except (BadAnswerError, NoAnswerError) as exc:
                self._end(f"the server answered wrongly: {exc}", cut_off=True)
                return

    def _forget(self, request: str) -> None:
        """A client a request named is gone: do not ask after it again."""
        command, _, args = request.partition(" ")
        if command in ("RECENT", "ACTIVITY", "INSPECT") and args.split()[0].isdigit():
            self._inspected.discard(int(args.split()[0]))

    def _take(self, request: str, reply: list[str]) -> None:
        """Keep what a refresh request answered (BadAnswerError if it is wrong)."""
        command, _, args = request.partition(" ")
        if command == "KERNEL":
            self._kernel = dict(parse_kernel(line) for line in reply)
        elif command == "RECENT" and reply:
            self._recent[int(args)] = parse_recent(reply[0])
        elif command == "ACTIVITY" and reply:
            self._activity[int(args)] = parse_activity(reply[0])

    def _publish(self, event: Event) -> None:
        if isinstance(event, ClientData):
            self.feed.publish_data([event])
        else:
            self.feed.publish(event)


def _connect(path: str, timeout: float) -> socket.socket:
    """A connection to the control socket at `path` (AttachError, in words, if
    there is none)."""
    shown = quoted(path, 200)
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise AttachError(f"cannot attach to {shown}: {os_reason(exc)}") from None
    except ValueError:  # a NUL in the name
        raise AttachError(f"cannot attach to {shown}: not a file name") from None
    if not stat.S_ISSOCK(mode):
        raise AttachError(
            f"cannot attach to {shown}: not a socket (tui-echo --control PATH makes"
            " one)"
        )
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except OSError as exc:
        sock.close()
        raise AttachError(f"cannot attach to {shown}: {os_reason(exc)}") from None
    sock.settimeout(None)  # waits from now on have deadlines of their own
    return sock
