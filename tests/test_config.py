"""Settings and the sizes the command line accepts."""

from __future__ import annotations

import pytest

from tui_echo.config import ServerConfig, parse_size


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


@pytest.mark.parametrize("text", ["", "K", "-1K", "1T", "lots", "1 M B", "0x10"])
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
