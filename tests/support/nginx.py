"""deploy/nginx.conf run as shipped on loopback: only paths, ports and pid/log/temp paths change."""

from __future__ import annotations

import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "deploy" / "nginx.conf"
WORKER_USER = "www-data"  # the `user` line of the shipped file


class NginxError(RuntimeError):
    pass


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found is None and Path("/usr/sbin/nginx").exists():
        found = "/usr/sbin/nginx"
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def unsearchable_parent(path: Path) -> Path | None:
    """The first folder from / down to `path` that other users cannot enter, if any."""
    for folder in [*reversed(path.resolve().parents), path.resolve()]:
        if not folder.stat().st_mode & stat.S_IXOTH:
            return folder
    return None


@contextmanager
def public_dir(prefix: str) -> Iterator[Path]:
    """A fresh 0755 folder under /tmp, for a data dir nginx's worker user can reach.

    pytest's own tmp_path sits in /tmp/pytest-of-<user>/, which is 0700: no other user (so
    no nginx worker) can search it, just as a private home folder would stop them.
    """
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        folder.chmod(0o755)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def shipped_conf(*, data_dir: Path, upstream: str, port: int, work: Path) -> str:
    """The shipped file with its paths, port and upstream address replaced, nothing else."""
    conf = SHIPPED.read_text()
    temp_paths = " ".join(
        f"{kind}_temp_path {work}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    for old, new in [
        ("/run/nginx.pid", f"{work}/nginx.pid"),
        ("/var/log/nginx/", f"{work}/"),
        ("/var/lib/audio-service", str(data_dir)),
        ("listen 80;", f"listen 127.0.0.1:{port};"),
        ("127.0.0.1:8000", upstream),
        ("http {", "http {\n" + temp_paths),
    ]:
        if old not in conf:
            raise NginxError(f"deploy/nginx.conf no longer contains {old!r}")
        conf = conf.replace(old, new)
    return conf


@dataclass(frozen=True)
class Nginx:
    url: str
    pid: int  # the master's


@contextmanager
def running_nginx(*, data_dir: Path, upstream: str, work: Path) -> Iterator[Nginx]:
    """nginx with the shipped config in front of `upstream` (host:port), until the block ends.

    `work` holds nginx's config, pid, logs and temp folders; workers write request bodies
    there, so it must be reachable by the worker user too.
    """
    binary = nginx_binary()
    if binary is None:
        raise NginxError("nginx is not installed (apt-get install nginx)")
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(shipped_conf(data_dir=data_dir, upstream=upstream, port=port, work=work))
    log = work / "error.log"
    args = [binary, "-p", str(work), "-c", str(conf), "-e", str(log), "-g", "daemon off;"]
    proc = subprocess.Popen(args)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise NginxError(log.read_text() if log.exists() else "nginx exited") from None
                time.sleep(0.02)
        yield Nginx(f"http://127.0.0.1:{port}", proc.pid)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def worker_users(master_pid: int) -> set[str]:
    """The users the worker processes of the nginx master `master_pid` run as (from /proc)."""
    users = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = dict(
                line.split(":\t", 1) for line in (entry / "status").read_text().splitlines()
            )
        except (OSError, ValueError):
            continue
        if fields.get("PPid") == str(master_pid):
            users.add(pwd.getpwuid(int(fields["Uid"].split("\t", 1)[0])).pw_name)
    return users
