"""Starting a coordinator as a terminal starts a foreground job: Ctrl-C reaches it."""

from __future__ import annotations

import signal
import subprocess
from typing import Any


def start_interruptible(args: list[str], **kwargs: Any) -> subprocess.Popen:
    """``subprocess.Popen(args, **kwargs)`` in a process group of its own, SIGINT not ignored.

    A script that runs the tests in the background (``make test &``) hands them SIGINT ignored,
    and an ignored signal stays ignored across exec: the coordinator would never see Ctrl-C and
    run to the end. A signal with a handler is reset to the default on exec instead.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        # Its own group, as a terminal gives a job: Ctrl-C goes to the group (os.killpg).
        return subprocess.Popen(args, start_new_session=True, **kwargs)
    finally:
        signal.signal(signal.SIGINT, previous)
