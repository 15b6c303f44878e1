"""What other threads ask of the loop (loop thread only: they send it through
`EchoLoop.call`): kick, reset, faults, keeping a client's recent bytes, and the
counts read back (`totals`, `published`, the scenario's latest step).

A client is a TCP (or TLS) connection or a UDP peer: each command says what it
means for both. `EchoLoop` inherits this; the attributes and calls declared
below for the type checker are the loop's own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from tui_echo.engine.clients import Totals
from tui_echo.engine.connection import Connection
from tui_echo.engine.peers import Peer, with_peers
from tui_echo.events import FaultChanged, ScenarioStep
from tui_echo.faults import FaultSpec, FaultTarget, fault_text
from tui_echo.faults.spec import check_protocol
from tui_echo.states import CloseReason
from tui_echo.words import reset_refused

if TYPE_CHECKING:
    import random
    import socket

    from tui_echo.engine.clients import Clients
    from tui_echo.engine.datagrams import DatagramPort
    from tui_echo.engine.limits import Limits
    from tui_echo.engine.timeline import Timeline
    from tui_echo.events import Event


class LoopCommands:
    """The commands of `EchoLoop` (a mixin)."""

    if TYPE_CHECKING:  # the loop's, read and called here
        clients: Clients
        udp: DatagramPort | None
        _timeline: Timeline | None
        _limits: Limits
        _default_fault: FaultSpec | None
        _chance: random.Random
        _published: int
        _by_id: dict[int, tuple[socket.socket, Connection]]

        def publish(self, event: Event) -> None: ...
        def _carry_out(
            self, sock: socket.socket, conn: Connection, todo: int
        ) -> None: ...
        def _arm_udp(self) -> None: ...

    def kick(self, client_id: int) -> bool:
        """Close a client with a FIN, or forget a UDP peer; False if there is no
        such client."""
        peer = self.peer(client_id)
        if peer is not None and self.udp is not None:
            self.udp.forget(peer, CloseReason.FORGOTTEN)
            return True
        return self._tell(client_id, Connection.kick)

    def reset(self, client_id: int) -> bool:
        """Close a client with an RST; False if there is no such client.

        Raises:
            ValueError: the client is a UDP peer (nothing to reset).
        """
        if self.peer(client_id) is not None:
            raise ValueError(reset_refused(client_id))
        return self._tell(client_id, Connection.reset)

    def kick_all(self) -> None:
        """Kick every client (and forget every UDP peer)."""
        for client_id in [
            *self._by_id,
            *(() if self.udp is None else self.udp.peers.by_id),
        ]:
            self.kick(client_id)

    def peer(self, client_id: int) -> Peer | None:
        """The UDP peer of that id, or None (any thread: a dict lookup)."""
        return None if self.udp is None else self.udp.peers.by_id.get(client_id)

    def set_fault(self, target: FaultTarget, spec: FaultSpec | None) -> bool:
        """Put a fault in force on a client, on `all` clients now, or on `new` ones;
        each change publishes a `fault` event. False if there is no such client.

        A `p=` is drawn per client (each new one, or each one now for `all`, in
        the order they connected): those chosen get the fault without `p`, the
        others none."""
        text = fault_text(spec)
        if target == "new":
            self._default_fault = spec
            self.publish(FaultChanged(fault=text))
            return True
        now = time.monotonic()
        peers = {} if self.udp is None else self.udp.peers.by_id
        if target == "all":  # each gets what means something for its protocol
            ids = sorted([*self._by_id, *peers])
        elif int(target) in self._by_id or int(target) in peers:
            ids = [int(target)]
            check_protocol(spec, "udp" if ids[0] in peers else "tcp", ids[0])
        else:
            return False
        # Each protocol's part of the SPEC, and its text, once: a step on `all`
        # sets a thousand clients in one turn of the loop.
        parts: dict[str, tuple[FaultSpec | None, str]] = {}
        for client_id in ids:
            peer = peers.get(client_id)
            proto = peer.proto if peer else "tcp"
            if proto not in parts:
                part = spec if spec is None else spec.for_protocol(proto)
                parts[proto] = (part, fault_text(part))
            mine, mine_text = parts[proto]
            if spec is not None and mine is None:
                continue  # nothing in it for this one's protocol: left as it is
            given = None if mine is None else mine.drawn(self._chance)
            given_text = mine_text if given is mine else fault_text(given)
            # Each `fault` event once the fault is in force: who waits for it may
            # ask the server what the fault has done at once.
            if peer is not None and self.udp is not None:
                self.udp.set_fault(peer, given, now)
                self.publish(FaultChanged(client=client_id, fault=given_text))
                self._arm_udp()
                continue
            entry = self._by_id.get(client_id)
            if entry is not None:  # not closed by an earlier one's fault
                sock, conn = entry
                for event in conn.take_corrupted(time.time()):  # the old fault's
                    self.publish(event)
                todo = conn.set_fault(given, now)
                self.publish(FaultChanged(client=client_id, fault=given_text))
                self._carry_out(sock, conn, todo)
        return True

    def inspect(self, client_id: int, enabled: bool) -> bool:
        """Start or stop keeping a client's recent bytes; False if it is unknown."""
        peer = self.peer(client_id)
        if peer is not None:
            peer.inspect(enabled)
            return True
        entry = self._by_id.get(client_id)
        if entry is not None:
            entry[1].inspect(enabled)
        return entry is not None

    def _tell(self, client_id: int, what: Callable[[Connection], int]) -> bool:
        entry = self._by_id.get(client_id)
        if entry is None:
            return False
        sock, conn = entry
        self._carry_out(sock, conn, what(conn))
        return True

    def totals(self) -> Totals:
        """The server's counts now, UDP peers included (loop thread)."""
        totals = self.clients.totals(
            self._limits.budget.pending, self._default_fault, self._published
        )
        return totals if self.udp is None else with_peers(totals, self.udp.peers)

    @property
    def scenario_step(self) -> ScenarioStep | None:
        """The latest `scenario` event, None without a scenario (loop thread)."""
        return None if self._timeline is None else self._timeline.latest

    @property
    def published(self) -> int:
        """Events published so far: the `seq` of the latest (loop thread)."""
        return self._published
