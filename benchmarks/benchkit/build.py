"""What the harness builds before a run: the C programs, and a baseline's
exported tui_echo/ (``--baseline REV``)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from .specs import BENCH_DIR, BUILD_DIR, REPO_ROOT

# each program: its source, and the libraries it links (the loadgen's --tls)
C_PROGRAMS: dict[str, tuple[Path, tuple[str, ...]]] = {
    "loadgen": (BENCH_DIR / "loadgen.c", ("-lssl", "-lcrypto")),
    "epoll_echo": (BENCH_DIR / "servers" / "epoll_echo.c", ()),
}


def build_c_programs() -> None:
    """Compile the C programs into build/ unless they are up to date."""
    BUILD_DIR.mkdir(exist_ok=True)
    for name, (source, libs) in C_PROGRAMS.items():
        target = BUILD_DIR / name
        if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
            continue
        cmd = ["cc", "-O2", "-Wall", "-Wextra", "-o", str(target), str(source), *libs]
        print("building:", " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, check=True)


def git(*args: str) -> bytes:
    """Output of a git command in the repository; exits with git's message."""
    done = subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True)
    if done.returncode != 0:
        sys.exit(f"git {' '.join(args)}: {done.stderr.decode().strip()}")
    return done.stdout


def export_baseline(rev: str, python: str) -> tuple[str, Path]:
    """Export REV's tui_echo/ into build/baseline-SHORT/; (SHORT, that directory).

    Exits unless the harness's interpreter, run from there as the servers are,
    really imports the exported package rather than the editable install.
    """
    short = git("rev-parse", "--short", "--verify", f"{rev}^{{commit}}").decode()
    short = short.strip()
    target = BUILD_DIR / f"baseline-{short}"
    if target.exists():
        shutil.rmtree(target)  # re-export: a stale or partial copy must not count
    target.mkdir(parents=True)
    archive = git("archive", "--format=tar", short, "tui_echo")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = "import tui_echo; print(tui_echo.__file__)"
    where = subprocess.run(
        [python, "-c", probe], cwd=target, env=env, capture_output=True, text=True
    )
    found = Path(where.stdout.strip() or "?")
    if where.returncode != 0 or not found.is_relative_to(target):
        sys.exit(f"baseline {rev}: tui_echo imports from {found}, not {target}")
    print(f"baseline {short}: tui_echo from {found}", file=sys.stderr)
    return short, target
