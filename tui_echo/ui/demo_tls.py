"""The demo scene of a `--tls` server, for screenshots and snapshots: the clients of
the demo scene negotiated TLS (one with a client certificate, one resumed), and a
newcomer is still in its handshake."""

from __future__ import annotations

from tui_echo.events import (
    ClientConnected,
    Event,
    Listening,
    TlsEstablished,
)
from tui_echo.ui.app import EchoApp
from tui_echo.ui.demo import (
    DEMO_ACTIVITY,
    DEMO_KERNEL,
    DEMO_RECENT,
    DEMO_RECENT_8,
    FixedClock,
    ScriptedServer,
    demo_scene,
    scene_trend,
)

DEMO_CA = "/tmp/tui-echo-tls-k2j9x1/ca.pem"
DEMO_FINGERPRINT = (
    "3B:87:18:57:B8:E8:7D:54:4C:7A:5D:F2:55:04:E5:8B:"
    "AE:48:68:ED:5E:27:97:2E:37:90:37:3A:78:63:45:7D"
)


def _negotiated(client: int, ts: float) -> TlsEstablished:
    """What each client of the scene negotiated."""
    tls = TlsEstablished(
        client=client,
        version="TLSv1.3",
        cipher="TLS_AES_256_GCM_SHA384",
        sni="localhost",
        ts=ts,
    )
    if client == 1:  # mTLS, and HTTP/2
        tls.alpn = "h2"
        tls.client_cert = "CN=alice@example.com,O=Example Corp"
        tls.client_cert_issuer = "CN=Example Corp client CA"
        tls.client_cert_expires = 1_798_761_600.0
    elif client == 2:
        tls.alpn = "http/1.1"
    elif client == 3:
        tls.resumed = True
    elif client == 8:
        tls.version = "TLSv1.2"
        tls.cipher = "ECDHE-RSA-AES128-GCM-SHA256"
        tls.alpn = "mqtt"
    return tls


def tls_demo_scene(now: float) -> list[Event]:
    """The demo scene over TLS: each client's `tls` event just after its
    connect, and client 9 still negotiating."""
    events: list[Event] = []
    for event in demo_scene(now):
        if isinstance(event, Listening):
            event = Listening(
                host=event.host,
                port=event.port,
                tls_ca=DEMO_CA,
                tls_fingerprint=DEMO_FINGERPRINT,
                ts=event.ts,
            )
        events.append(event)
        if isinstance(event, ClientConnected):
            events.append(_negotiated(event.client, event.ts + 0.004))
    events.append(ClientConnected(client=9, peer="127.0.0.1:51344", ts=now - 0.4))
    return sorted(events, key=lambda event: event.ts)


def make_tls_demo_app() -> EchoApp:
    """The app over the TLS demo scene (as `make_demo_app`, with TLS)."""
    clock = FixedClock()
    server = ScriptedServer(tls_demo_scene(clock.now), clock)
    server.recent[1] = DEMO_RECENT
    server.recent[8] = DEMO_RECENT_8
    server.kernel_numbers.update(DEMO_KERNEL)
    server.activity.update(DEMO_ACTIVITY)
    app = EchoApp(server, clock=server.clock, refresh_interval=3600.0)
    app.trend = scene_trend(demo_scene(clock.now), clock.now)
    return app
