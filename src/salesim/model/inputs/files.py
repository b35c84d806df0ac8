"""Opening a user's file as a hostile user may have named it: one line for every way it fails.

A FIFO or a device would block a reader for ever (or feed it without end), a directory or a
symlink loop raises an exception of its own in each library, and a file of gigabytes would be
read whole. Every input (config files, data files, stored results) goes through ``regular``
or ``read_capped`` first, so each of these is a ``ConfigError`` naming the file, at once.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

from salesim.model.inputs.params import ConfigError

#: Longest value quoted in a message; longer ones are cut (a 240 kB cell must not fill a screen).
MAX_SHOWN = 80

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def cut(text: object, limit: int = MAX_SHOWN) -> str:
    """``text`` as a string of at most about ``limit`` characters (the rest said, not shown)."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


def _why(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "a symlink loop"
    if exc.errno == errno.ENOENT:
        return "no such file"
    return exc.strerror or type(exc).__name__


def regular(path: str | Path, name: str | None = None) -> os.stat_result:
    """The stat of ``path`` if it is a regular file; else ConfigError naming ``name``.

    Follows symlinks; a loop, a directory, a FIFO or a device is named as such.
    """
    name = name or str(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ConfigError(f"{name}: {_why(exc)}") from None
    except ValueError:  # a NUL byte in the name
        raise ConfigError(f"{cut(repr(str(path)))}: not a valid file name") from None
    for test, kind in _KINDS:
        if test(info.st_mode):
            raise ConfigError(f"{name}: is {kind}, not a regular file")
    return info


def read_capped(path: str | Path, limit: int, what: str, name: str | None = None) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; ConfigError otherwise.

    The file is opened without blocking (a FIFO swapped in after the check cannot hang us)
    and read one byte past the limit, never more.
    """
    name = name or str(path)
    regular(path, name)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read: {_why(exc)}") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise ConfigError(f"{name}: not a regular file")
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise ConfigError(f"{name}: cannot read: {_why(exc)}") from None
    if len(data) > limit:
        raise ConfigError(f"{name}: larger than {limit:,} bytes, the limit for {what}")
    return data


def resolved(path: str | Path, name: str | None = None) -> Path:
    """``path`` made absolute with symlinks resolved; a symlink loop is a ConfigError."""
    try:
        return Path(path).resolve()
    except (RuntimeError, OSError):  # Python 3.12 raises RuntimeError for a loop
        raise ConfigError(f"{name or path}: a symlink loop") from None
    except ValueError:  # a NUL byte in the name
        raise ConfigError(f"{cut(repr(str(path)))}: not a valid file name") from None


def sha256_of(path: str | Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
