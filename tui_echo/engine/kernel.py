"""What the kernel holds for a client, as `ss` shows it: queues and TCP_INFO.

tui-echo's PENDING is its own buffer; the kernel holds more: bytes received but not
yet read (RECV-Q, `SIOCINQ`) and bytes sent but not yet acknowledged (SEND-Q,
`SIOCOUTQ`), plus TCP's own view of the path (`TCP_INFO`). Linux only; elsewhere
`read_kernel_stats` says None and the screen says n/a.

Loop thread only: a descriptor may be closed and reused between threads, so the UI
never asks the kernel itself; it asks the loop (`EchoServer.watch_kernel`).
"""

from __future__ import annotations

import array
import fcntl
import socket
import struct

from tui_echo.events import KERNEL_SUPPORTED, KernelStats

SIOCINQ = 0x541B
"""FIONREAD: bytes in the receive queue not yet read (Linux)."""
SIOCOUTQ = 0x5411
"""TIOCOUTQ: bytes in the send queue not yet acknowledged (Linux)."""

_TCP_INFO = struct.Struct("8B24I")
"""The stable head of Linux's `struct tcp_info` (since 2.6): eight bytes of state,
then rto, ato, snd_mss, rcv_mss, unacked, sacked, lost, retrans, fackets, four
last_* times, pmtu, rcv_ssthresh, rtt, rttvar, snd_ssthresh, snd_cwnd, advmss,
reordering, rcv_rtt, rcv_space, total_retrans."""
_LOST, _RTT, _RTTVAR, _CWND, _TOTAL_RETRANS = 14, 23, 24, 26, 31
"""Positions in `_TCP_INFO.unpack` of the fields shown."""


def read_kernel_stats(sock: socket.socket) -> KernelStats | None:
    """The kernel's view of a connected socket, or None (not Linux, or it failed)."""
    if not KERNEL_SUPPORTED:
        return None
    try:
        queue = array.array("i", [0])
        fcntl.ioctl(sock.fileno(), SIOCINQ, queue)
        recv_q = queue[0]
        fcntl.ioctl(sock.fileno(), SIOCOUTQ, queue)
        send_q = queue[0]
        raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO.size)
        info = _TCP_INFO.unpack(raw)
    except (OSError, struct.error):
        return None
    return KernelStats(
        recv_q=recv_q,
        send_q=send_q,
        rtt_us=info[_RTT],
        rttvar_us=info[_RTTVAR],
        retransmits=info[_TOTAL_RETRANS],
        cwnd=info[_CWND],
        lost=info[_LOST],
    )
