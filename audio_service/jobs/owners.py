"""Owner names of claims and locks: which process on which host holds them, and if it is gone."""

from __future__ import annotations

import os
import socket
import uuid

HOST = socket.gethostname()


def new_owner() -> str:
    """A name for this process's claims: host and pid say where it runs, the token which run."""
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_gone(owner: str) -> bool:
    """True only when the owner ran on this host and its pid no longer exists."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != HOST or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another user
        return False
    return False
