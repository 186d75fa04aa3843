"""Whether a process recorded by PID (and start time) is still running on
this host: what decides that a lock or a temporary folder is stale."""
import os
from typing import Optional


def process_start(pid: int) -> Optional[str]:
    """The start time of process ``pid`` in clock ticks since boot (Linux
    ``/proc``; None where unavailable or the process is gone)."""
    try:
        with open(f'/proc/{pid}/stat', encoding='utf-8') as f:
            text = f.read()
    except OSError:
        return None
    # field 22, counted after the parenthesised command (which may hold
    # spaces)
    return text.rsplit(')', 1)[-1].split()[19]


def process_alive(pid: int, start: Optional[str]) -> bool:
    """Whether process ``pid`` exists (and is the one started at
    ``start``, where both are known) on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    now = process_start(pid)
    return start is None or now is None or now == start
