"""The numbers the tables show, by the key a run's metrics hold them under."""

from __future__ import annotations

from .specs import Metric

P50 = Metric("p50_us", "p50 RTT µs", False)
P99 = Metric("p99_us", "p99 RTT µs", False)
MSGS = Metric("msgs_per_s", "messages/s", True, 0)
MBPS = Metric("mb_per_s", "MB/s", True)
CONNS = Metric("conns_per_s", "connections/s", True, 0)
KIB_PER_CONN = Metric("kib_per_conn", "RSS KiB/conn", False, 2)
CONNECTED = Metric("connected", "connected", None, 0)
FRESH = Metric("fresh_echo_ok", "new client echoed", None)
RSS_GROWTH = Metric("rss_growth_mib", "RSS growth MiB", False)
SECONDS = Metric("seconds", "time s", False, 2)
CHURN_P99 = Metric("p99_us", "p99 connect+echo µs", False)
RSS_BEFORE = Metric("rss_before_mib", "RSS before MiB", None)
RSS_PEAK = Metric("rss_peak_mib", "peak RSS MiB", False)
RSS_AFTER = Metric("rss_after_mib", "RSS after close MiB", False)
RSS_KEPT = Metric("rss_kept_mib", "after - before MiB", False)
FLOOD_SENT = Metric("sent_mib", "clients sent MiB", None)
P50_EXCESS = Metric("p50_excess_ms", "p50 RTT - delay ms", False, 2)
P99_EXCESS = Metric("p99_excess_ms", "p99 RTT - delay ms", False, 2)
SERVER_CPU = Metric("server_cpu_pct", "server CPU %", False)
ALL_ECHOED = Metric("all_echoed", "every echo back", None)
P50_MS = Metric("p50_ms", "p50 RTT ms", False, 2)
P99_MS = Metric("p99_ms", "p99 RTT ms", False, 2)
RATE_MIB = Metric("mib_per_s", "MiB/s (2^20)", None, 3)
RATE_DEV = Metric("rate_dev_pct", "deviation from rate %", None, 1)
# server CPU time per echoed message, over the loadgen's measured window only
CPU_MSG = Metric("server_us_per_msg", "server CPU µs/msg", False, 2)
CPU_MSG_USER = Metric("server_user_us_per_msg", "server user µs/msg", False, 2)
CPU_MSG_SYS = Metric("server_sys_us_per_msg", "server system µs/msg", False, 2)
CPU_PER_MSG = (CPU_MSG, CPU_MSG_USER, CPU_MSG_SYS)
# the scaling curve: RSS growth while the idle clients are held, and per idle
# client against the same server's 0-idle run in the same round (curve.py)
RSS_HELD = Metric("rss_growth_mib", "RSS growth while held MiB", None, 1)
KIB_PER_IDLE = Metric("kib_per_idle", "RSS KiB/idle client", False, 2)
# UDP (protocols.py): datagrams whose echo did not come back within the timeout,
# and echoes of an earlier datagram (late or duplicated)
LOST = Metric("lost", "datagrams lost", None, 0)
STALE = Metric("stale", "stale echoes", None, 0)
NO_LOSS = Metric("no_loss", "no datagram lost", None)
