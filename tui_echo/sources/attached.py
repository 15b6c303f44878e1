"""`RemoteServer`: a tui-echo server in another process, through its control socket.

`tui-echo attach PATH` gives the monitor one of these instead of an `EchoServer`:
the same feed of events and the same commands, over the socket (control.py). Two
connections: one asks `STATS` and `LIST` (the clients present when it attaches,
turned into the events the monitor would have seen) and then streams `EVENTS` into
the feed; the other carries commands, from a worker thread, so the monitor never
waits on a socket. When the server goes away the feed says so with an `error`
event, and the monitor shows it.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from collections.abc import Iterable

from tui_echo.engine.feed import EventFeed
from tui_echo.events import (
    ClientConnected,
    ClientData,
    ClientState,
    Event,
    FaultChanged,
    KernelStats,
    Listening,
    ServerError,
    from_json_line,
)
from tui_echo.faults import FaultActivity, FaultSpec, fault_text
from tui_echo.sources.contract import (
    Commands,
    FaultTarget,
    KernelProbe,
    Mode,
    Playback,
)
from tui_echo.words import os_reason, printable

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for the server to answer while attaching, or for a command."""

GONE = "the server went away (its control socket closed)"


class AttachError(Exception):
    """Nothing to attach to at that path: one line for the operator."""


class RemoteServer:
    """The monitor's view of a server behind a control socket (any thread).

    A `Source` with commands and kernel probes (the server answers `KERNEL` where
    it can, Linux; elsewhere it says nothing, and the columns stay empty), and no
    playback."""

    mode: Mode = "attached"
    playback: Playback | None = None

    def __init__(self, path: str) -> None:
        self.path = path
        self.commands: Commands | None = self
        self.kernel: KernelProbe | None = self
        self.feed = EventFeed()
        self.gone = False
        """The server closed the events stream (it stopped, or cut us off)."""
        self.cut_off = False
        """The server cut this monitor off (too slow) or said what it did not
        expect: it may well be running still."""
        self._stream = _connect(path)
        try:
            self._commands = _connect(path)
        except AttachError:
            self._stream.close()
            raise
        self._lines = self._stream.makefile("rb")
        self._replies = self._commands.makefile("rb")
        self._requests: queue.Queue[list[str] | None] = queue.Queue()
        self._kernel: dict[int, KernelStats] = {}
        self._recent: dict[int, bytes] = {}
        self._activity: dict[int, FaultActivity | None] = {}
        self._inspected: set[int] = set()
        self._closed = False
        self._threads: list[threading.Thread] = []
        try:
            self._stream.sendall(b"STATS\nLIST\nEVENTS\n")
            self._seed_from(self._reply(self._lines), self._reply(self._lines))
            if self._reply(self._lines) != []:  # EVENTS: just OK, then the stream
                raise AttachError("the server did not start the events stream")
        except (OSError, ValueError) as exc:
            self.close()
            raise AttachError(f"cannot attach to {path}: {exc}") from None
        except AttachError:
            self.close()
            raise
        self._stream.settimeout(None)
        self._reader = threading.Thread(
            target=self._read_events, name="tui-echo-attach", daemon=True
        )
        self._worker = threading.Thread(
            target=self._run_commands, name="tui-echo-commands", daemon=True
        )
        self._threads = [self._reader, self._worker]
        for thread in self._threads:
            thread.start()

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
        """The wall clock: the server's events carry its (same host) time."""
        return time.time()

    def stop(self) -> None:
        """Detach: the server goes on serving."""
        self.close()

    def mode_detail(self) -> str:
        if self.cut_off:
            return "cut off"
        return "server gone" if self.gone else ""

    def close(self) -> None:
        """Hang up both connections and let the threads end (any thread)."""
        if self._closed:
            return
        self._closed = True
        self._requests.put(None)
        for sock in (self._stream, self._commands):  # wakes a thread blocked on it
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(CONNECT_TIMEOUT)
        for stream in (self._lines, self._replies):
            with contextlib.suppress(OSError):
                stream.close()
        for sock in (self._stream, self._commands):
            sock.close()

    # ---- the two threads ----------------------------------------------------------

    def _send(self, line: str) -> None:
        self._requests.put([line])

    def _run_commands(self) -> None:
        while (lines := self._requests.get()) is not None:
            try:
                self._commands.sendall("".join(f"{ln}\n" for ln in lines).encode())
                for line in lines:
                    reply, error = self._answer(self._replies)
                    if error is not None:  # `no client 7`: it left meanwhile
                        self._forget(line)
                        continue
                    with contextlib.suppress(ValueError, KeyError, IndexError):
                        self._take(line, reply)  # a reply it cannot read: skip it
            except (OSError, ValueError):
                return  # the server is gone: the events stream says so

    def _forget(self, request: str) -> None:
        """A client a request named is gone: do not ask after it again."""
        command, _, args = request.partition(" ")
        if command in ("RECENT", "ACTIVITY", "INSPECT") and args.split()[0].isdigit():
            self._inspected.discard(int(args.split()[0]))

    def _take(self, request: str, reply: list[str]) -> None:
        """Keep what a refresh request answered."""
        command, _, args = request.partition(" ")
        if command == "KERNEL":
            self._kernel = dict(_kernel_entry(line) for line in reply)
        elif command == "RECENT" and reply:
            self._recent[int(args)] = bytes.fromhex(reply[0].removeprefix("hex="))
        elif command == "ACTIVITY" and reply:
            self._activity[int(args)] = _activity(reply[0])

    def _read_events(self) -> None:
        feed = self.feed
        try:
            for raw in self._lines:
                try:
                    event = from_json_line(raw)
                except ValueError:
                    said = printable(raw.strip()[:200])
                    if said.startswith("ERR too slow"):
                        said = (
                            "the server cut this monitor off: it fell too far behind"
                            " the events (the server goes on; attach again)"
                        )
                    feed.publish(ServerError(message=said))
                    self.cut_off = True
                    break
                if isinstance(event, ClientData):
                    feed.publish_data([event])
                else:
                    feed.publish(event)
        except (OSError, ValueError):
            pass
        self.gone = True
        if not self._closed and not self.cut_off:
            feed.publish(ServerError(message=GONE))

    # ---- the first look ------------------------------------------------------------

    def _reply(self, lines: Iterable[bytes]) -> list[str]:
        """The lines of one reply, up to its OK (an ERR becomes a ValueError)."""
        reply, error = self._answer(lines)
        if error is not None:
            raise ValueError(error)
        return reply

    @staticmethod
    def _answer(lines: Iterable[bytes]) -> tuple[list[str], str | None]:
        """One reply: its lines, and its `ERR ...` line if it ended with one.

        Raises:
            ValueError: the server closed the connection.
        """
        reply: list[str] = []
        for raw in lines:
            line = raw.decode("ascii", "replace").rstrip("\n")
            if line == "OK":
                return reply, None
            if line.startswith("ERR"):
                return reply, line
            reply.append(line)
        raise ValueError("the server closed the connection")

    def _seed_from(self, stats: list[str], clients: list[str]) -> None:
        """Events that bring a new monitor to where the server is now."""
        now = time.time()
        fields = _fields(stats[0])
        host, _, port = fields["listening"].rpartition(":")
        events: list[Event] = [
            Listening(
                host=host.strip("[]"), port=int(port), ts=now - float(fields["uptime"])
            )
        ]
        if fields["fault"] != "-":
            events.append(FaultChanged(fault=fields["fault"], ts=now))
        for line in clients:
            client = _fields(line)
            client_id = int(client["id"])
            events.append(
                ClientConnected(
                    client=client_id,
                    peer=client["peer"],
                    ts=now - float(client["age"]),
                )
            )
            bytes_in = int(client["in"])
            events.append(
                ClientData(
                    client=client_id,
                    bytes=bytes_in,
                    bytes_in=bytes_in,
                    bytes_out=int(client["out"]),
                    pending=int(client["pending"]),
                    state=ClientState(client["state"]),
                    ts=now - float(client["idle"]),
                )
            )
            if client["fault"] != "-":
                events.append(FaultChanged(client=client_id, fault=client["fault"]))
        for event in events:
            self.feed.publish(event)


def _connect(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(CONNECT_TIMEOUT)
    try:
        sock.connect(path)
    except OSError as exc:
        sock.close()
        raise AttachError(f"cannot attach to {path}: {os_reason(exc)}") from None
    return sock


def _fields(line: str) -> dict[str, str]:
    """`key=value` words of a LIST or STATS line; the last key (`fault`) takes the
    rest of the line, `=` and `,` included."""
    head, _, fault = line.partition(" fault=")
    fields = _key_values(head)
    fields["fault"] = fault
    return fields


def _key_values(line: str) -> dict[str, str]:
    """The `key=value` words of a reply line."""
    return dict(word.split("=", 1) for word in line.split())


def _kernel_entry(line: str) -> tuple[int, KernelStats]:
    f = {key: int(value) for key, value in _key_values(line).items()}
    return f["id"], KernelStats(
        recv_q=f["recvq"],
        send_q=f["sendq"],
        rtt_us=f["rtt"],
        rttvar_us=f["rttvar"],
        retransmits=f["retrans"],
        cwnd=f["cwnd"],
        lost=f["lost"],
    )


def _activity(line: str) -> FaultActivity | None:
    if line == "fault=-":
        return None
    f = {key: int(value) for key, value in _key_values(line).items()}
    return FaultActivity(f["delayed"], f["pieces"], f["discarded"])
