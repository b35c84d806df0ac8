"""Serving the page: ``salesim viz CONFIG`` checks the config, then runs Solara on it.

The page (``salesim.viz.app``) reads its config from ``SALESIM_VIZ_CONFIG``; this module sets
it, keeps the server offline and quiet, and blocks until the server stops.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
from pathlib import Path

from salesim.experiments.config import load_config
from salesim.model.inputs.params import ConfigError
from salesim.model.sales_model import SalesModel

#: Solara warns (14 lines, on the first page load) that over plain http it falls back from
#: samesite=none to samesite=lax session cookies. samesite=none only matters when the page is
#: embedded in another site's iframe; salesim serves it directly, where lax is right. Ignored in
#: the viz server process only (a ``-W``-style filter: message prefix, category, module).
VIZ_QUIET = "ignore:Cookies with samesite=none require https:UserWarning:solara.server.starlette"


def check_port(host: str, port: int) -> None:
    """ConfigError (one line) if ``host:port`` cannot be bound: in use, or not an address here.

    Bound with SO_REUSEADDR, as the server binds, so a port lately closed is not called taken.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(f"--host {host!r}: not an address here ({exc})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"--port {port}: already in use on {host} (another salesim viz?); stop it "
                    "or choose another --port"
                ) from None
            raise ConfigError(
                f"--host {host} --port {port}: cannot serve there: {exc.strerror}"
            ) from None


def serve(config: str | None, host: str, port: int) -> int:
    """Serve the page for ``config`` (None: the defaults) on ``host:port`` until it stops.

    A bad file, or one whose design refuses it, is a one-line ConfigError here, before the
    server starts, not a broken page. Returns the server's exit status.
    """
    if not 0 < port < 65536:
        raise ConfigError(f"--port: must be between 1 and 65535, got {port}")
    SalesModel(load_config(config).model)
    check_port(host, port)
    env = {
        **os.environ,
        "SALESIM_VIZ_CONFIG": str(Path(config).resolve()) if config else "",
        # Offline by design: no usage telemetry, no version check against the package index.
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        # Solara's corner banner would cover the page's bottom-right content.
        "SOLARA_THEME_SHOW_BANNER": "False",
        "PYTHONWARNINGS": ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), VIZ_QUIET])),
    }
    cmd = [
        sys.executable, "-m", "solara", "run", "salesim.viz.app",
        "--host", host, "--port", str(port),
        "--production", "--no-open", "--no-check-version", "--log-level", "warning",
    ]  # fmt: skip
    print(f"salesim viz: http://{host}:{port}  (Ctrl-C to stop)", file=sys.stderr)
    return subprocess.call(cmd, env=env)
