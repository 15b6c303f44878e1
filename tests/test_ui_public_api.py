"""The monitor is built on Textual's public API alone: no private module imported.

Textual's private modules (`textual.widgets._footer`, ...) change between minor
versions without notice; importing one would tie the product to one release.
"""

from __future__ import annotations

import ast
from pathlib import Path

import tui_echo


def private_textual_imports(source: str) -> list[str]:
    """The `textual` modules with a private part (`_name`) that `source` imports."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "textual" and any(p.startswith("_") for p in parts):
                found.append(name)
    return found


def test_the_check_finds_a_private_import() -> None:
    assert private_textual_imports(
        "from textual.widgets._footer import FooterKey\nimport textual._xterm\n"
    ) == ["textual.widgets._footer", "textual._xterm"]
    assert private_textual_imports("from textual.widgets import Footer\n") == []


def test_no_module_of_the_package_imports_a_private_textual_module() -> None:
    package = Path(tui_echo.__file__).parent
    offenders = {
        str(path.relative_to(package)): found
        for path in sorted(package.rglob("*.py"))
        if (found := private_textual_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
