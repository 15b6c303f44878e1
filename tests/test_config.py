"""Settings and the sizes the command line accepts."""

from __future__ import annotations

import pytest

from tui_echo.engine.config import ConfigError, ServerConfig
from tui_echo.units import parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("4096", 4096),
        ("64K", 65536),
        ("64k", 65536),
        ("1M", 1048576),
        ("1MiB", 1048576),
        ("1.5M", 1572864),
        ("2G", 2 * 1024**3),
        ("512B", 512),
        (" 8 KB ", 8192),
    ],
)
def test_parse_size_understands_binary_units(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    "text", ["", "K", "-1K", "1P", "lots", "1 M B", "0x10", "9" * 30]
)
def test_parse_size_rejects_what_is_not_a_size(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


def test_defaults_match_the_spec() -> None:
    config = ServerConfig()
    assert (config.host, config.port) == ("127.0.0.1", 9000)
    assert config.max_buffer == 1024 * 1024
    assert config.max_clients is None
    assert config.idle_timeout is None


@pytest.mark.parametrize(
    "changes",
    [
        {"port": -1},
        {"port": 65536},
        {"max_clients": 0},
        {"max_buffer": 10},
        {"idle_timeout": 0},
    ],
)
def test_config_refuses_impossible_limits(changes: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must"):
        ServerConfig(**changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("250ms", 0.25), ("1.5s", 1.5), ("2m", 120.0), ("3", 3.0), ("1h", 3600.0)],
)
def test_parse_duration_reads_the_usual_units(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ms", "-1s", "1d", "fast", "1e999", "9" * 30])
def test_parse_duration_rejects_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_config_errors_name_the_setting() -> None:
    with pytest.raises(ConfigError) as caught:
        ServerConfig(max_buffer=1 << 60)
    assert caught.value.setting == "max_buffer"
    assert "too large" in str(caught.value)
