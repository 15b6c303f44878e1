"""`EchoServer`: a TCP echo server on a background thread, and its thread-safe handle.

The facade of the package: it puts the engine (engine/) and, with `--control`, the
control socket (control/) together. `start()` binds and listens in the caller's
thread, so a failure raises `ServerStartError` before any thread exists; then the
`EchoLoop` (engine/loop.py) serves every client on its own thread. `bind()` may
come first, alone: the port and the control socket are taken (and their errors
reported) while clients are still refused, until `start()` opens the door (the
monitor does so once it is on screen). Commands (`kick`, `reset`, `inspect`,
`stop`) may come from any thread; events come back through the `EventFeed`.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from types import TracebackType

from tui_echo.control.operator import LoopOperator
from tui_echo.control.socket_server import (
    ControlListener,
    ControlServer,
    ControlSocketError,
    open_control_socket,
)
from tui_echo.engine.config import ServerConfig
from tui_echo.engine.datagrams import DatagramPortError, bind_datagram_socket
from tui_echo.engine.feed import EventFeed
from tui_echo.engine.listener import BACKLOG, ServerStartError, bind_listener
from tui_echo.engine.loop import EchoLoop
from tui_echo.engine.tls_setup import TlsServer, TlsSetupError, open_tls
from tui_echo.events import FaultChanged, KernelStats, Listening
from tui_echo.faults import FaultActivity, FaultSpec, FaultTarget, fault_text
from tui_echo.faults.listener import ListenerFault, as_listener_fault
from tui_echo.faults.spec import check_protocol, check_target
from tui_echo.words import format_address, os_reason, reset_refused

STOP_TIMEOUT = 5.0

__all__ = ["EchoServer", "ServerStartError"]


class EchoServer:
    """A TCP echo server whose loop runs on a background thread.

    Use it as a context manager, or call `start()` and `stop()`::

        with EchoServer(ServerConfig(port=0)) as server:
            host, port = server.address
            events = server.feed.drain()
    """

    def __init__(self, config: ServerConfig, feed: EventFeed | None = None) -> None:
        self.config = config
        self.feed = feed if feed is not None else EventFeed()
        self._loop: EchoLoop | None = None
        self._thread: threading.Thread | None = None
        self._address: tuple[str, int] | None = None
        self._bound: tuple[socket.socket, ControlListener | None] | None = None
        """The listener (bound, not yet listening) and the control socket, from
        `bind()` until `start()` hands them to the loop."""
        self._datagrams: socket.socket | None = None
        """The UDP socket (`--udp`), bound to the TCP port's number, until
        `start()` hands it to the loop."""
        self.tls: TlsServer | None = None
        """With `--tls`, once bound: the context, the CA path, the fingerprint."""

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and the real port (any thread, after `bind` or `start`)."""
        if self._address is None:
            raise RuntimeError("the server is not started")
        return self._address

    def bind(self) -> EchoServer:
        """Take the port and the control socket in the caller's thread, without
        accepting clients yet: a client that connects now is refused. `start()`
        then listens. `address` is known from here on.

        Raises:
            ServerStartError: the host does not resolve, the bind fails, or the
                control socket cannot be made.
        """
        if self._bound is not None or self._thread is not None:
            raise RuntimeError("the server was bound already")
        if self.config.tls is not None and self.tls is None:
            try:  # first: a certificate problem is said before the port is taken
                self.tls = open_tls(self.config.tls)
            except TlsSetupError as exc:
                raise ServerStartError(str(exc)) from None
        try:
            listener = bind_listener(self.config.host, self.config.port)
        except ServerStartError:
            self._forget_tls()
            raise
        if self.config.udp:
            try:  # the same number as TCP's (port 0: the one TCP got)
                self._datagrams = bind_datagram_socket(
                    self.config.host, listener.getsockname()[1]
                )
            except DatagramPortError as exc:
                listener.close()
                self._forget_tls()
                raise ServerStartError(str(exc)) from None
        control = None
        if self.config.control is not None:
            try:
                control = open_control_socket(self.config.control)
            except ControlSocketError as exc:
                listener.close()
                if self._datagrams is not None:
                    self._datagrams.close()
                self._forget_tls()
                raise ServerStartError(str(exc)) from None
        host, port = listener.getsockname()[:2]
        self._address = (host, port)
        self._bound = (listener, control)
        return self

    def start(self) -> EchoServer:
        """Listen (binding first unless `bind()` did), then start the loop thread.

        Raises:
            ServerStartError: the host does not resolve, the bind or the listen
                fails (another server took the port since `bind()`), or the
                control socket cannot be made.
        """
        if self._thread is not None:
            raise RuntimeError("the server was started already")
        if self._bound is None:
            self.bind()
        assert self._bound is not None
        listener, control = self._bound
        host, port = self.address
        try:
            listener.listen(BACKLOG)
        except OSError as exc:
            self._release()
            where, reason = format_address(host, port), os_reason(exc)
            raise ServerStartError(f"cannot listen on {where}: {reason}") from None
        try:
            loop = EchoLoop(self.config, self.feed, listener, self._datagrams, self.tls)
        except OSError as exc:  # out of descriptors for its poller
            self._release()
            raise ServerStartError(
                f"cannot start the server: {os_reason(exc)}"
            ) from None
        if control is not None:
            loop.attach(ControlServer(control, loop.poller, LoopOperator(loop)))
        udp_port = port if self.config.udp else None  # one number for both
        tls = self.tls
        loop.publish(  # the thread is not up yet
            Listening(
                host=host,
                port=port,
                udp_port=udp_port,
                tls_ca=None if tls is None else tls.ca_path,
                tls_fingerprint=None if tls is None else tls.fingerprint,
            )
        )
        if self.config.fault is not None:
            loop.publish(FaultChanged(fault=fault_text(self.config.fault)))
        if self.config.listener_fault is not None:  # publishes `listener`
            loop.set_listener_fault(self.config.listener_fault)
        loop.start_scenario()  # its clock starts with `listening`
        thread = threading.Thread(target=loop.run, name="tui-echo-loop", daemon=True)
        try:
            thread.start()
        except RuntimeError as exc:  # out of threads
            loop.close_unstarted()
            self._release()
            raise ServerStartError(f"cannot start the server: {exc}") from None
        self._bound = self._datagrams = None  # the loop owns the sockets now
        self._loop, self._thread = loop, thread
        return self

    def _release(self) -> None:
        """Give back what `bind()` took, if `start()` never took it over."""
        if self._bound is None:
            return
        listener, control = self._bound
        self._bound = self._address = None
        listener.close()
        if self._datagrams is not None:
            self._datagrams.close()
            self._datagrams = None
        if control is not None:
            control.close()
        self._forget_tls()

    def _forget_tls(self) -> None:
        """Remove the generated key (a server that stopped or never started)."""
        if self.tls is not None:
            self.tls.close()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Close the listener and every client, publish `shutdown`, join the thread
        (or, bound but never started, give back the port and the control socket).

        Idempotent, and safe from any thread but the loop thread.
        """
        self._release()  # bound but never started: nothing else to stop
        thread, loop = self._thread, self._loop
        if thread is not None and loop is not None and thread.is_alive():
            loop.call(loop.request_stop)
            thread.join(timeout)
        self._forget_tls()

    def kick(self, client_id: int) -> None:
        """Close a client now with a FIN, discarding its pending bytes (any thread)."""
        self._send(lambda loop: loop.kick(client_id))

    def reset(self, client_id: int) -> None:
        """Close a client abortively with an RST (SO_LINGER 0) (any thread).

        Raises:
            ValueError: the client is a UDP peer (UDP has nothing to reset).
        """
        self._check_peer(client_id, None, reset=True)
        self._send(lambda loop: loop.reset(client_id))

    def _check_peer(
        self, client_id: object, spec: FaultSpec | None, reset: bool = False
    ) -> None:
        """Refuse, in the caller's thread, what a client's protocol cannot take."""
        loop = self._loop
        if loop is None or not isinstance(client_id, int):
            return
        if loop.peer(client_id) is not None:
            proto = "udp"
        elif client_id in loop.clients.by_id:
            proto = "tcp"
        else:
            return  # unknown (or gone): the loop says so
        if reset and proto == "udp":
            raise ValueError(reset_refused(client_id))
        check_protocol(spec, proto, client_id)

    def kick_all(self) -> None:
        """Kick every connected client (any thread)."""
        self._send(EchoLoop.kick_all)

    def inspect(self, client_id: int, enabled: bool = True) -> None:
        """Start or stop keeping a client's recent bytes (any thread)."""
        self._send(lambda loop: loop.inspect(client_id, enabled))

    def set_fault(self, target: FaultTarget, spec: FaultSpec | str | None) -> None:
        """Put a fault in force (any thread): on one client (its id), on `"all"`
        clients connected now, or on `"new"` clients still to come. `spec` is a
        `FaultSpec`, its text (`"delay=50ms,slice=1"`), a profile's name
        (`"3g"`), or None / `"off"` to clear. With `p=PCT` (for `"new"` and
        `"all"` only), each client is drawn: PCT in 100 get the rest of it.

        Raises:
            ValueError: the target or the SPEC is not valid (the message says which
                item).
        """
        if isinstance(spec, str):
            spec = FaultSpec.parse(spec)
        if target not in ("all", "new") and not (
            isinstance(target, int) and not isinstance(target, bool) and target > 0
        ):
            raise ValueError(
                f"fault target must be a client id, 'all' or 'new': {target!r}"
            )
        check_target(target, spec)
        self._check_peer(target, spec)
        fault = spec
        self._send(lambda loop: loop.set_fault(target, fault))

    def set_listener_fault(self, fault: ListenerFault | str | None) -> None:
        """Put a listener fault in force (any thread): a `ListenerFault`, its text
        (`"refuse,for=5s"`, `"accept-delay=200ms"`), or None / `"off"` to clear.
        A `listener` event follows.

        Raises:
            ValueError: the text is not a listener fault (the message names the item).
        """
        value = as_listener_fault(fault)
        self._send(lambda loop: loop.set_listener_fault(value))

    def watch_kernel(self, client_ids: Iterable[int]) -> None:
        """Have the loop sample the kernel's view of these clients now (any thread).

        Call it at each refresh with the clients on screen; `kernel_stats` then
        answers for them. Each client costs three system calls on the loop thread.
        """
        ids = tuple(client_ids)
        self._send(lambda loop: loop.clients.sample_kernel(ids))

    def kernel_stats(self, client_id: int) -> KernelStats | None:
        """The kernel's view of a watched client at the last sample (any thread)."""
        return (
            None if self._loop is None else self._loop.clients.kernel_stats(client_id)
        )

    def fault_activity(self, client_id: int) -> FaultActivity | None:
        """What a client's fault has done since it was set, or None (any thread)."""
        loop = self._loop
        if loop is None:
            return None
        peer = loop.peer(client_id)  # a UDP peer's, or a TCP client's
        if peer is not None:
            return peer.fault_activity()
        return loop.clients.fault_activity(client_id)

    def _send(self, command: Callable[[EchoLoop], object]) -> None:
        """Run `command` on the loop thread, if the server was started."""
        loop = self._loop
        if loop is not None:
            loop.call(lambda: command(loop))

    def recent_bytes(self, client_id: int) -> bytes | None:
        """The last few KiB an inspected client sent, or None (any thread)."""
        loop = self._loop
        if loop is None:
            return None
        peer = loop.peer(client_id)
        return peer.recent if peer is not None else loop.clients.recent_bytes(client_id)

    @property
    def client_count(self) -> int:
        """Clients connected now (any thread; a snapshot)."""
        return 0 if self._loop is None else len(self._loop.clients)

    @property
    def running(self) -> bool:
        """True while the loop thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> EchoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
