"""The API key as an object that never shows it: not in a ``repr``, not in frame locals.

The key travels from the client to the wire inside :class:`Secret` (and request bodies
that embed it inside :class:`SecretBody`); only the transport, where the request is
built, reveals it. The same objects mask the key in whatever the server sends back.
"""

from __future__ import annotations

from typing import Final, NoReturn, final
from urllib.parse import quote

__all__ = ["MASK", "MIN_REDACTED_LENGTH", "Secret", "SecretBody"]

#: Keys shorter than this are not searched for in answers: no real key is that short, and
#: masking a one-letter "key" would corrupt every answer.
MIN_REDACTED_LENGTH: Final = 8

#: What a secret becomes inside a text (a ``repr`` of a secret says ``<redacted>``).
MASK: Final = "***"


@final
class Secret:
    """A secret string: ``repr``/``str`` give ``<redacted>``; :meth:`reveal` gives it."""

    __slots__ = ("__value", "_all_forms", "_forms")

    def __init__(self, value: str) -> None:
        self.__value = value
        forms = {value, quote(value, safe=""), value.replace("/", "\\/")}
        self._all_forms = tuple(sorted((f for f in forms if f), key=len, reverse=True))
        self._forms = tuple(f for f in self._all_forms if len(f) >= MIN_REDACTED_LENGTH)

    def reveal(self) -> str:
        """The secret itself: call it only where the request is built."""
        return self.__value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.__value == self.__value

    def __hash__(self) -> int:
        return hash(self.__value)

    def redact(self, text: str, shortest: int = MIN_REDACTED_LENGTH) -> str:
        """``text`` with the secret (also URL-encoded or JSON-escaped) masked: every form
        of at least ``shortest`` characters (a text of one's own, such as an error line,
        may mask shorter forms than a server's answer can afford to)."""
        forms = self._forms if shortest >= MIN_REDACTED_LENGTH else self._all_forms
        for form in forms:
            if len(form) >= shortest and form in text:
                text = text.replace(form, MASK)
        return text

    def redact_bytes(self, data: bytes) -> bytes:
        """``data`` (a server's answer) with the secret masked, in any of its forms."""
        for form in self._forms:
            encoded = form.encode()
            if encoded in data:
                data = data.replace(encoded, MASK.encode())
        return data


@final
class SecretBody:
    """A request body that embeds ``secret``: its ``repr`` shows neither."""

    __slots__ = ("__data", "secret")

    def __init__(self, data: bytes, secret: Secret) -> None:
        self.__data = data
        self.secret = secret

    def reveal(self) -> bytes:
        """The body itself: call it only where the request is built."""
        return self.__data

    def __repr__(self) -> str:
        return f"<request body of {len(self.__data)} bytes, redacted>"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a SecretBody cannot be pickled")
