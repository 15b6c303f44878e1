"""The core and the headless mode run without importing Textual."""

from __future__ import annotations

import signal
import subprocess
import sys

from tests.helpers import DEADLINE

CORE_PROBE = """
import importlib, pkgutil, sys
import tui_echo
names, packages = [], [tui_echo]
while packages:  # every module but the UI's (walk_packages would import tui_echo.ui)
    package = packages.pop()
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        if info.name in ("tui_echo.ui", "tui_echo.__main__"):
            continue
        names.append(info.name)
        module = importlib.import_module(info.name)
        if info.ispkg:
            packages.append(module)
assert len(names) > 20, names  # the walk found the package's modules
assert "textual" not in sys.modules, sorted(m for m in sys.modules if "textual" in m)
"""


HEADLESS_PROBE = """
import sys
from tui_echo.cli import main
code = main(["--no-ui", "--port", "0"])
assert "textual" not in sys.modules, "headless mode imported textual"
sys.exit(code)
"""


def test_core_modules_do_not_import_textual() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CORE_PROBE],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert result.returncode == 0, result.stderr


def test_headless_run_does_not_import_textual() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", HEADLESS_PROBE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        assert "listening" in proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 0, stderr
    assert stdout.rstrip().endswith("shutdown")
