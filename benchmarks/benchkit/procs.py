"""Processes, ports and /proc readings for the harness.

Every process the harness starts goes through :class:`ServerProcess` or
:class:`TmuxServer` (:class:`AttachedServer` pairs one of each), and is stopped
by its own PID (SIGTERM, then SIGKILL after a deadline).  Nothing here ever
signals a process it did not start.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

TMUX_SOCKET = "tuiecho-bench"
TMUX_SESSION = "bench"
STOP_DEADLINE = 5.0


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a free TCP port on host and release it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(cpu: int, argv: list[str]) -> list[str]:
    """`argv` run on one CPU with taskset, where there are two CPUs and taskset."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(cpu), *argv]
    return argv


def port_accepts(host: str, port: int) -> bool:
    """True if a TCP connection to host:port succeeds right now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def udp_echoes(host: str, port: int) -> bool:
    """True if a datagram sent to host:port comes back within 0.5 s (a UDP
    server has no port that accepts)."""
    probe = b"are you serving?"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.sendto(probe, (host, port))
            return sock.recv(len(probe) + 1) == probe
        except OSError:  # refused (nothing bound yet) or timed out
            return False


def read_status_kib(pid: int, field: str) -> int | None:
    """A ``kB`` field (VmRSS, VmHWM) of /proc/PID/status, or None if unreadable."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process from /proc/PID/stat."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def child_of(parent: int, deadline: float) -> int | None:
    """The PID of a child of ``parent``, waiting at most ``deadline`` seconds for
    one to appear; None if the parent dies or has none by then."""
    end = time.monotonic() + deadline
    while pid_running(parent):
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                return int(entry.name)
        if time.monotonic() >= end:
            break
        time.sleep(0.02)
    return None


def pid_running(pid: int) -> bool:
    """True while pid exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class ServerProcess:
    """A server started as our own child process.

    stderr goes to ``log_path``; stdout too, unless ``stdout_path`` names a file
    of its own (truncated here, at each start, so repeated runs do not fill the
    disk) or ``stdout_devnull`` is set.
    """

    def __init__(
        self,
        argv: list[str],
        cwd: Path,
        log_path: Path,
        stdout_devnull: bool = False,
        stdout_path: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self._out = stdout_path.open("wb") if stdout_path is not None else None
        stdout: int | IO[bytes] = self._out or self._log
        if stdout_devnull:
            stdout = subprocess.DEVNULL
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env={**os.environ, **env} if env else None,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=self._log,
            start_new_session=True,  # Ctrl-C reaches the harness, which stops us
        )
        self.pid = self.proc.pid
        self.exit_status: int | None = None
        self.killed = False

    def alive(self) -> bool:
        return self.proc.poll() is None

    def pause(self) -> None:
        """SIGSTOP, so an idle server takes no CPU from the one under test."""
        if self.alive():
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGCONT)

    def failure(self) -> str:
        """Why the process is not serving: its exit status and last stderr line."""
        rc = self.proc.poll()
        lines = [
            ln
            for ln in self.log_path.read_text(errors="replace").splitlines()
            if ln.strip()
        ]
        last = lines[-1].strip() if lines else "no output"
        return f"exited with status {rc}: {last}" if rc is not None else last

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_DEADLINE; records the exit status."""
        if self.proc.poll() is None:
            self.resume()  # a stopped process would not act on SIGTERM
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.proc.kill()
                self.proc.wait()
        self.exit_status = self.proc.returncode
        self._log.close()
        if self._out is not None:
            self._out.close()


class TmuxServer:
    """A server running in a detached tmux session on a dedicated tmux socket.

    Each UI server has a socket of its own (``socket``): two may run in one
    round (this build and a baseline twin), and each start ends any tmux server
    left on its socket.

    The pane runs ``COMMAND; echo $? >STATUS`` in /bin/sh, and ``pid`` is the
    shell's child, the server itself.  tmux sends SIGCONT at once to a pane
    process that stops, so a pane process cannot be paused; the shell's child
    can (a shell without job control never asks to hear of it).  The status
    file gives the exit status, which tmux sometimes loses for a pane that
    dies early.
    """

    def __init__(
        self,
        argv: list[str],
        cwd: Path,
        log_path: Path,
        size: tuple[int, int],
        env: dict[str, str] | None = None,
        socket: str = TMUX_SOCKET,
    ) -> None:
        self.socket = socket
        self.log_path = log_path
        conf = log_path.with_suffix(".tmux.conf")
        conf.write_text(
            "set -g remain-on-exit on\nset -g default-terminal screen-256color\n"
            "set -g default-shell /bin/sh\n"  # for the command line below
        )
        self.status_path = log_path.with_suffix(".status")
        self.status_path.unlink(missing_ok=True)
        self._tmux("-f", str(conf), "kill-server", check=False)
        # env(1) and taskset exec the command, so the shell's child is the server
        env_argv = ["env", *(f"{k}={v}" for k, v in env.items())] if env else []
        self.argv, self.cwd = [*env_argv, *argv], cwd
        status = shlex.quote(str(self.status_path))
        command = f"{shlex.join(self.argv)}; echo $? >{status}"
        width, height = size
        self._tmux(
            "-f", str(conf), "new-session", "-d", "-s", TMUX_SESSION,
            "-x", str(width), "-y", str(height), "-c", str(cwd), command,
        )  # fmt: skip
        try:
            shell = int(self._display("#{pane_pid}"))
        except (subprocess.SubprocessError, ValueError):
            self._tmux("kill-server", check=False)
            raise
        # no child: it has exited already, and the status file will say how
        self.pid = child_of(shell, STOP_DEADLINE) or shell
        self.exit_status: int | None = None
        self.killed = False

    def _tmux(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=10,
        )
        return result.stdout

    def _display(self, fmt: str) -> str:
        return self._tmux("display-message", "-p", "-t", TMUX_SESSION, fmt).strip()

    def alive(self) -> bool:
        return pid_running(self.pid) and not self.status_path.exists()

    def pause(self) -> None:
        """SIGSTOP, so an idle server takes no CPU from the one under test."""
        if pid_running(self.pid):
            os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if pid_running(self.pid):
            os.kill(self.pid, signal.SIGCONT)

    def drawn(self) -> bool:
        """True once a full-screen app has switched the pane to the alternate
        screen and drawn something there (a traceback never does)."""
        if self._display_safe("#{alternate_on}") != "1":
            return False
        return bool(self.screen().strip())

    def screen(self) -> str:
        """The pane's current text (what the UI shows, or the error it printed)."""
        try:
            return self._tmux("capture-pane", "-p", "-t", TMUX_SESSION)
        except subprocess.SubprocessError:
            return ""

    def failure(self) -> str:
        """Why the pane's process is not serving: its exit status and last words."""
        status = self._status()
        last = _last_line(self.screen()) or self._diagnose()
        return f"exited with status {status}: {last}" if status is not None else last

    def _diagnose(self) -> str:
        """Re-run the command in a pane that outlives it, to see what it printed.

        tmux may lose the last output of a process that exits at once, and with
        ``exec`` there is nothing left to keep the pane's text; this runs once
        per broken server, never for a measured run.
        """
        script = f"{shlex.join(self.argv)}; sleep 10"
        text = ""
        try:
            self._tmux("new-session", "-d", "-s", "diag", "-x", "160", "-y", "48",
                       "-c", str(self.cwd), script)  # fmt: skip
            deadline = time.monotonic() + STOP_DEADLINE
            while not _last_line(text) and time.monotonic() < deadline:
                time.sleep(0.25)
                text = self._tmux("capture-pane", "-p", "-t", "diag")
            self._tmux("kill-session", "-t", "diag", check=False)
        except subprocess.SubprocessError:
            pass
        return _last_line(text) or "no output"

    def _display_safe(self, fmt: str) -> str:
        try:
            return self._display(fmt)
        except subprocess.SubprocessError:
            return ""

    def _status(self, wait: float = 2.0) -> int | None:
        """Exit status of the server, -N if signal N killed it, None if unknown.

        The shell writes it just after its child ends, so poll briefly.
        """
        deadline = time.monotonic() + wait
        while True:
            with contextlib.suppress(OSError, ValueError):
                status = int(self.status_path.read_text())
                # sh reports death by signal N as 128+N; subprocess says -N
                return -(status - 128) if 128 < status < 128 + 65 else status
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM the server by PID, SIGKILL after a deadline; end tmux."""
        try:
            self.log_path.write_text(self.screen())
            # Watch the PID, not the pane: the pane dies when the terminal
            # closes, which can be before the process has finished exiting.
            if pid_running(self.pid):
                self.resume()  # a stopped process would not act on SIGTERM
                os.kill(self.pid, signal.SIGTERM)
                deadline = time.monotonic() + STOP_DEADLINE
                while pid_running(self.pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
                if pid_running(self.pid):
                    self.killed = True
                    os.kill(self.pid, signal.SIGKILL)
            self.exit_status = self._status()
        finally:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self._tmux("kill-server", check=False)


def _last_line(screen: str) -> str:
    """The last non-blank line of a pane, ignoring tmux's own 'Pane is dead'."""
    lines = [ln.strip() for ln in screen.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith("Pane is dead")]
    return lines[-1] if lines else ""


class AttachedServer:
    """A headless server with ``--control PATH``, and the monitor attached to it
    from another process (``tui_echo attach PATH``) in a tmux session.

    The pair acts as one server: paused, resumed and stopped together, the
    measured PID being the server's.  The monitor starts once the server
    serves (it needs the control socket) and is stopped first, so that it
    leaves as on ``q`` (exit 0) instead of seeing its server go away.
    """

    def __init__(
        self,
        server: ServerProcess,
        control: Path,
        monitor_argv: list[str],
        cwd: Path,
        log_path: Path,
        env: dict[str, str] | None,
        socket: str,
    ) -> None:
        self.server = server
        self.pid = server.pid
        self.log_path = server.log_path
        self.control = control
        self.monitor: TmuxServer | None = None
        self.drawn_after: float | None = None  # seconds from launch to first screen
        self._monitor_args = (monitor_argv, cwd, log_path, env, socket)

    @property
    def exit_status(self) -> int | None:
        return self.server.exit_status

    @property
    def killed(self) -> bool:
        return self.server.killed

    def start_monitor(self, deadline: float) -> str | None:
        """Start the monitor and wait for its first screen; None, or why not."""
        end = time.monotonic() + deadline
        while not self.control.is_socket():  # bound a moment after the port
            if not self.server.alive():
                return self.server.failure()
            if time.monotonic() >= end:
                return f"no control socket at {self.control}"
            time.sleep(0.05)
        argv, cwd, log_path, env, socket = self._monitor_args
        t0 = time.monotonic()
        try:
            self.monitor = TmuxServer(argv, cwd, log_path, (160, 48), env, socket)
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            return f"monitor did not start: {exc}"
        while time.monotonic() < end:
            if not self.monitor.alive():
                return "monitor " + self.monitor.failure()
            if self.monitor.drawn():
                self.drawn_after = time.monotonic() - t0
                return None
            time.sleep(0.05)
        return f"monitor drew nothing within {deadline:.0f} s"

    def alive(self) -> bool:
        """Both serving: a run without its monitor would measure something else."""
        if not self.server.alive():
            return False
        return self.monitor is None or self.monitor.alive()

    def failure(self) -> str:
        if not self.server.alive() or self.monitor is None:
            return self.server.failure()
        return "monitor " + self.monitor.failure()

    def pause(self) -> None:
        # the server first, so no event is left waiting on a stopped monitor
        self.server.pause()
        if self.monitor is not None:
            self.monitor.pause()

    def resume(self) -> None:
        if self.monitor is not None:
            self.monitor.resume()
        self.server.resume()

    def stop(self) -> None:
        """The monitor first (SIGTERM: it leaves as on q), then the server."""
        try:
            self.server.resume()  # the monitor's leaving must not wait on a frozen peer
            if self.monitor is not None:
                self.monitor.stop()
        finally:
            self.server.stop()


Server = ServerProcess | TmuxServer | AttachedServer


def wait_until_serving(
    server: Server,
    host: str,
    port: int,
    deadline: float,
    probe: Callable[[str, int], bool] = port_accepts,
) -> str | None:
    """Wait until the port serves (``probe``: it accepts a TCP connection, or
    echoes a datagram); None on success, else the reason it did not."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if not server.alive():
            return server.failure()
        if probe(host, port):
            return None
        time.sleep(0.05)
    return f"port {port} did not serve within {deadline:.0f} s"
