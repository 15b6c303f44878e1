"""Named profiles: a network people know by name (`3g`, `satellite`), as fault items.

A profile stands wherever a SPEC does (`--fault 3g`, `FAULT 7 satellite`, the fault
dialog, `EchoServer.set_fault("3g")`) and parses to the FaultSpec of its items, so
its text (`str()`) is the items, never the name. One table, `BUILT_IN_PROFILES`,
with where each number comes from; a scenario file's own profiles are looked up
after it (`FaultSpec.parse(text, profiles=...)`).

How a link's numbers become an echo's fault: an echo crosses the link twice (the
client's bytes up, the echo down), so `delay` is the link's round trip, and `rate`
is the slower of its two directions (bytes per second, 1 kbit/s = 125 bytes/s).
Only items TCP has are used (no loss: a TCP stream hides it as delay).

Plain data (no import of the grammar): `spec.py` reads the items with its own
parser.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Profile:
    """A named fault, and where its numbers come from."""

    name: str
    items: str
    """The SPEC, as `str(FaultSpec)` writes it (a test holds the two equal)."""
    source: str
    """Where the numbers come from, in a few words, and how they were mapped."""
    url: str


_CHROME = (
    "https://github.com/ChromeDevTools/devtools-frontend/blob/main/"
    "front_end/core/sdk/NetworkManager.ts"
)

PROFILES: tuple[Profile, ...] = (
    Profile(
        "3g",
        "delay=2s,rate=50000",
        'Chrome DevTools\' "3G" (formerly "Slow 3G"): latency 400 ms x 5 = 2000 ms,'
        " 500 kbit/s x 0.8 each way = 50,000 bytes/s",
        _CHROME,
    ),
    Profile(
        "slow-4g",
        "delay=562.5ms,rate=84375",
        'Chrome DevTools\' "Slow 4G" (formerly "Fast 3G"): latency 150 ms x 3.75,'
        " up 750 kbit/s x 0.9 = 84,375 bytes/s (down 1.6 Mbit/s x 0.9)",
        _CHROME,
    ),
    Profile(
        "fast-4g",
        "delay=165ms,rate=168750",
        'Chrome DevTools\' "Fast 4G": latency 60 ms x 2.75, up 1.5 Mbit/s x 0.9 ='
        " 168,750 bytes/s (down 9 Mbit/s x 0.9)",
        _CHROME,
    ),
    Profile(
        "edge",
        "delay=650ms,jitter=100ms,rate=25000",
        'Loadero\'s "Edge" network condition: latency 650 ms, jitter 100 ms,'
        " 200 kbit/s down (260 up) = 25,000 bytes/s",
        "https://wiki.loadero.com/test-creation/participant-configuration/"
        "network-conditions/",
    ),
    Profile(
        "high-jitter",
        "delay=200ms,jitter=100ms",
        'Loadero\'s "High jitter" network condition: latency 200 ms, jitter 100 ms',
        "https://wiki.loadero.com/test-creation/participant-configuration/"
        "network-conditions/",
    ),
    Profile(
        "satellite",
        "delay=600ms",
        "a geostationary satellite link: 35,786 km up, four crossings for a round"
        " trip = at least 477 ms at the speed of light, about 600 ms as measured",
        "https://cs7.tf.fau.de/2024/page/2",
    ),
)
"""Every built-in profile, in the order help texts list them."""

BUILT_IN_PROFILES: dict[str, Profile] = {profile.name: profile for profile in PROFILES}
"""The built-in profiles by name (lower case): looked up before a scenario's own."""

PROFILE_NAMES: tuple[str, ...] = tuple(BUILT_IN_PROFILES)
