"""`RemoteServer`: a tui-echo server in another process, through its control socket.

`tui-echo attach PATH` gives the monitor one of these instead of an `EchoServer`:
the same feed of events and the same commands, over the socket. Two connections:
one streams `EVENTS`, the other carries `LIST`, `STATS`, `HISTORY` and then the
commands, from a worker thread, so the monitor never waits on a socket.

Attaching starts from the server's truth with no gap and no double count: the
stream is opened first and what it says is held back while `LIST`, `STATS` and
`HISTORY` are asked; `prepare(book)` brings the monitor's book to that snapshot
(book/seed.py) and folds the held events the snapshot does not reflect (each
event's `seq` against its client's `LIST` line and `STATS`); later events go to the
feed. When the server goes away the feed says so with an `error` event, and the
clock stops.

Whatever answers at the path is untrusted (control/client.py, control/answers.py):
every line has a limit, every field is checked, every wait has a deadline or is
ended by shutting the sockets down; a bad answer is said in words, escaped, never a
traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import stat
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from tui_echo.book.records import HISTORY_LENGTH, ClosedClient
from tui_echo.book.seed import SeedClient, Snapshot, seed_book
from tui_echo.control.answers import (
    parse_activity,
    parse_history,
    parse_kernel,
    parse_list,
    parse_recent,
    parse_stats,
)
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
from tui_echo.events import (
    ClientData,
    Event,
    KernelStats,
    ScenarioStep,
    ServerError,
    ShutdownComplete,
)
from tui_echo.events_parse import from_json, from_json_line
from tui_echo.faults import FaultActivity, FaultSpec, fault_text
from tui_echo.faults.listener import ListenerFault, listener_text
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
CATCH_UP = 0.2
"""Seconds to wait for the stream to show an event, when none came while the
snapshot was taken (then nothing happened meanwhile)."""
JOIN_TIMEOUT = 1.0
"""Seconds to wait for a thread when detaching (its socket is shut down: it ends at
once)."""
MAX_LISTED = 250_000
"""Clients a `LIST` answer may have (256 bytes a line at most on average)."""
MAX_EARLY = 100_000
"""Events the stream may bring while the snapshot is taken..."""
MAX_EARLY_BYTES = 32 << 20
"""... and their bytes (held in memory until the book takes them)."""
_LARGEST_SEQ = (1 << 63) - 1

GONE = "the server went away (its control socket closed)"


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
        self._end_reason: str | None = None
        """Why a bad answer ended the source, in words."""
        self._ending = threading.Lock()
        self._closed = False
        self.seed: Seed | None = self.prepare
        self._threads: list[threading.Thread] = []
        self._requests: queue.Queue[list[str] | None] = queue.Queue()
        self._kernel: dict[int, KernelStats] = {}
        self._recent: dict[int, bytes] = {}
        self._activity: dict[int, FaultActivity | None] = {}
        self._inspected: set[int] = set()
        # What the stream said while the snapshot was taken, held for `prepare`;
        # the reader thread and the attaching thread share it under the lock.
        self._seen = threading.Condition()
        self._early: list[tuple[int, Event]] = []
        self._cut: int | None = None
        self._first_seq: int | None = None
        self._last_seq = 0
        self._too_many = False
        self._early_bytes = 0
        self._stream_ended = False
        deadline = time.monotonic() + timeout
        self._stream = _connect(path, timeout)
        try:
            self._commands = _connect(path, timeout)
        except AttachError:
            self._stream.close()
            raise
        self._lines = LineReader(self._stream)
        self._replies = LineReader(self._commands)
        try:
            try:
                self._first_look(deadline, cancel)
            except (ControlClientError, OSError):
                if self._end_reason is not None:  # the stream said what went wrong
                    raise BadAnswerError(self._end_reason) from None
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
        self._stream.sendall(b"EVENTS\n")
        if read_reply(self._lines, "EVENTS", deadline, cancel, max_lines=0):
            raise BadAnswerError("the server did not start the events stream")
        reader = threading.Thread(
            target=self._read_events, name="tui-echo-attach", daemon=True
        )
        self._threads.append(reader)
        reader.start()
        # LIST before STATS: every LIST line's seq is then at most STATS' seq, so
        # STATS' totals are one cut that every held event is judged against.
        # HISTORY last: a client that closes meanwhile is in it, or its close is
        # held (and its record, seeded or held, gives the book its history line).
        # SCENARIO after them: the latest step, or a later one that the held
        # events also carry (applied after the snapshot, they end on the same).
        self._commands.sendall(b"LIST\nSTATS\nHISTORY\nSCENARIO\n")
        listed = [
            parse_list(line)
            for line in read_reply(
                self._replies,
                "LIST",
                deadline,
                cancel,
                max_lines=MAX_LISTED,
                max_bytes=MAX_LISTED * 256,
            )
        ]
        listed_at = time.time()
        stats_lines = read_reply(self._replies, "STATS", deadline, cancel, max_lines=1)
        if not stats_lines:
            raise BadAnswerError("the STATS answer is empty")
        stats = parse_stats(stats_lines[0])
        history = [
            parse_history(line)
            for line in read_reply(
                self._replies,
                "HISTORY",
                deadline,
                cancel,
                max_lines=10 * HISTORY_LENGTH,
            )[-HISTORY_LENGTH:]
        ]
        scenario = self._scenario(deadline, cancel)
        self._catch_up(stats.seq, deadline, cancel)
        if self._stream_ended:  # while attaching: no monitor to show it to
            raise BadAnswerError(self._end_reason or "the server ended the events")
        if self._too_many:
            raise BadAnswerError(f"more than {MAX_EARLY:,} events came while attaching")
        for line in listed:
            if line.seq > stats.seq:
                raise BadAnswerError(
                    f"a LIST line of seq={line.seq}, after STATS' seq={stats.seq}"
                )
        now = time.time()
        self.snapshot = Snapshot(
            host=stats.host,
            port=stats.port,
            started_at=stats.started,
            default_fault=stats.fault,
            listener=stats.listener,
            tls=stats.tls,
            clients_now=stats.clients,
            clients_total=stats.total,
            rejected=stats.rejected,
            bytes_in=stats.bytes_in,
            bytes_out=stats.bytes_out,
            seq=stats.seq,
            taken_at=now,
            clients=[
                SeedClient(
                    id=line.id,
                    peer=line.peer,
                    state=line.state,
                    connected_at=listed_at - line.age,
                    last_active=listed_at - line.idle,
                    bytes_in=line.bytes_in,
                    bytes_out=line.bytes_out,
                    pending=line.pending,
                    fault=line.fault,
                    seq=line.seq,
                    proto=line.proto,
                    datagrams_in=line.datagrams_in,
                    datagrams_out=line.datagrams_out,
                    dropped=line.dropped,
                    tls=line.tls,
                )
                for line in listed
            ],
            history=[
                ClosedClient(
                    id=line.id,
                    peer=line.peer,
                    connected_at=line.connected,
                    closed_at=line.closed,
                    reason=line.reason,
                    bytes_in=line.bytes_in,
                    bytes_out=line.bytes_out,
                    discarded=line.discarded,
                    fault=line.fault,
                )
                for line in history
            ],
            scenario=scenario,
        )

    def _scenario(
        self, deadline: float, cancel: threading.Event | None
    ) -> ScenarioStep | None:
        """The server's latest `scenario` event, if it runs a scenario."""
        lines = read_reply(self._replies, "SCENARIO", deadline, cancel, max_lines=1)
        if not lines:
            return None
        try:
            event = from_json_line(lines[0])
        except ValueError as exc:
            raise BadAnswerError(
                f"the SCENARIO answer is not an event: {exc}"
            ) from None
        if not isinstance(event, ScenarioStep):
            raise BadAnswerError(
                f"the SCENARIO answer is a {event.kind} event, not a scenario event"
            )
        return event

    def _catch_up(
        self, seq: int, deadline: float, cancel: threading.Event | None
    ) -> None:
        """Wait until the stream has brought every event up to `seq` (it numbers
        them one by one, from where it started), then send later ones to the feed.

        If no event came at all, wait `CATCH_UP` for one: the stream's start is
        not said, and a quiet server may have published none since."""
        quiet_until = time.monotonic() + CATCH_UP
        with self._seen:
            while not self._stream_ended and not self._too_many:
                first = self._first_seq
                if first is None:
                    if time.monotonic() >= quiet_until:
                        break
                elif first > seq or self._last_seq >= seq:
                    break
                if cancel is not None and cancel.is_set():
                    raise CancelledError("cancelled")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise NoAnswerError("the events stream fell behind")
                self._seen.wait(min(left, 0.05))
            self._cut = seq
            held, self._early = self._early, []
            for event_seq, event in held:
                if event_seq <= seq:
                    self._early.append((event_seq, event))
                else:
                    self._publish(event)

    def prepare(self, book: ClientBook) -> None:
        """Bring a fresh `book` to the server as it was when attached, with the
        events held meanwhile (once, before the book folds anything from the feed;
        `tui-echo attach` calls it with the monitor's book)."""
        with self._seen:
            early, self._early = self._early, []
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

    def _end(self, message: str | None, *, cut_off: bool) -> None:
        """The source is over: say why (unless we hung up), stop the clock, and hang
        up so the other thread ends too."""
        with self._ending:
            if self._ended:
                return  # the other thread said why already
            self._ended = True
        if self._ended_at is None:
            self._ended_at = time.time()
        if cut_off:
            self._end_reason = message
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

    def _read_events(self) -> None:
        message: str | None = GONE
        cut_off = False
        try:
            while True:
                try:
                    raw = self._lines.readline()
                except BadAnswerError as exc:
                    raise BadAnswerError(f"the events stream has {exc}") from None
                seq, event = self._event(raw)
                self._route(seq, event, len(raw))
        except ServerClosedError:
            pass
        except BadAnswerError as exc:
            message, cut_off = str(exc), True
        with self._seen:
            if cut_off:  # before the attaching thread can see the end
                self._end_reason = message
            self._stream_ended = True
            self._seen.notify_all()
        self._end(message, cut_off=cut_off)

    def _event(self, raw: bytes) -> tuple[int, Event]:
        """An event line's `seq` and event (BadAnswerError, in words, if it is not)."""
        text = raw.decode("ascii", "backslashreplace")
        if raw.startswith(b"ERR"):
            if raw.startswith(b"ERR too slow"):
                raise BadAnswerError(
                    "the server cut this monitor off: it fell too far behind"
                    " the events (the server goes on; attach again)"
                )
            raise BadAnswerError(
                f"the server ended the events: {quoted(text[3:].strip())}"
            )
        try:
            payload = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: [[[[... nested deep
            raise BadAnswerError(
                f"the server sent a line that is not JSON: {quoted(text)}"
            ) from None
        seq = payload.get("seq") if isinstance(payload, dict) else None
        if (
            not isinstance(seq, int)
            or isinstance(seq, bool)
            or not self._last_seq < seq <= _LARGEST_SEQ
        ):
            raise BadAnswerError(
                "the server sent an event without a seq following the last"
                f" ({self._last_seq}): {quoted(text)}"
            )
        try:
            event = from_json(payload)
        except (ValueError, RecursionError) as exc:
            raise BadAnswerError(
                f"the server sent a bad event ({exc}): {quoted(text)}"
            ) from None
        return seq, event

    def _route(self, seq: int, event: Event, size: int) -> None:
        """Hold an event for `prepare` until the snapshot's cut is known and while
        it is at or before it; publish the later ones."""
        with self._seen:
            if self._first_seq is None:
                self._first_seq = seq
            self._last_seq = seq
            cut = self._cut
            if cut is None:
                self._early_bytes += size
                if len(self._early) >= MAX_EARLY or self._early_bytes > MAX_EARLY_BYTES:
                    self._too_many = True
                else:
                    self._early.append((seq, event))
            elif seq > cut:
                self._publish(event)
            # (at or before the cut once it is set: the snapshot reflects it)
            self._seen.notify_all()
        if isinstance(event, ShutdownComplete):
            self._ended_at = event.ts  # the server's own last moment

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
