"""Child processes for the tests: the environment that makes them import this checkout's xbragg,
and processes seen through Linux's /proc, for the tests that check no worker is left behind."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child_env() -> dict[str, str]:
    """This process's environment with the project root first on PYTHONPATH, so that a child
    ``python -m xbragg`` runs this checkout whatever its working directory."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def process_state(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of ``pid`` from /proc, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()    # the command name may hold spaces
    return fields[0], int(fields[1])


def live_children(pid: int) -> set[int]:
    """Pids of the processes whose parent is ``pid``, zombies left out."""
    kids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = process_state(int(entry))
            if info is not None and info[1] == pid and info[0] != "Z":
                kids.add(int(entry))
    return kids
