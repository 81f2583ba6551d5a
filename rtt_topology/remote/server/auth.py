"""Bearer tokens: read the token file, check ``Authorization`` headers in constant time."""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from rtt_topology.errors import InputError

__all__ = ["MIN_TOKEN_CHARS", "bearer_ok", "read_token"]

#: Shortest token accepted: 16 characters of a random token are 80+ bits.
MIN_TOKEN_CHARS = 16


def read_token(path: str | os.PathLike[str]) -> str:
    r"""Return the token written in a file (surrounding whitespace removed).

    Raises
    ------
    InputError
        If the file cannot be read, or the token is shorter than
        :data:`MIN_TOKEN_CHARS` characters or holds whitespace or non-ASCII text.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "token"
    >>> _ = f.write_text("s3cret-s3cret-s3cret\n")
    >>> read_token(f)
    's3cret-s3cret-s3cret'
    """
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the token file ({exc})") from exc
    if len(text) < MIN_TOKEN_CHARS:
        raise InputError(f"{path}: the token must have at least {MIN_TOKEN_CHARS} characters")
    if not text.isascii() or any(c.isspace() or not c.isprintable() for c in text):
        raise InputError(f"{path}: the token must be printable ASCII without spaces")
    return text


def bearer_ok(header: str | None, token: bytes) -> bool:
    """Tell whether an ``Authorization`` header carries ``Bearer <token>``.

    The comparison is :func:`hmac.compare_digest` (constant time); the scheme name
    is case-insensitive, as RFC 9110 says.

    Examples
    --------
    >>> bearer_ok("Bearer abc", b"abc"), bearer_ok("bearer abc", b"abc")
    (True, True)
    >>> bearer_ok("Bearer abd", b"abc"), bearer_ok(None, b"abc"), bearer_ok("abc", b"abc")
    (False, False, False)
    """
    if header is None:
        return False
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    try:
        given = credentials.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(given, token)
