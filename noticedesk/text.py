"""Text from a mail, a file name or AWS made storable: what every store, JSON and terminal accept."""

from __future__ import annotations


def without_nul(text: str) -> str:
    """The text with NUL shown as U+FFFD: an encoded word, a quoted-printable ``=00`` or a JSON
    ``\\u0000`` can decode to NUL, which no notice means and PostgreSQL's text columns refuse."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def storable_text(text: str) -> str:
    """``text`` as every store, JSON and terminal take it: NUL shown as U+FFFD (PostgreSQL refuses
    it), and a lone surrogate (a byte of a file name that is not UTF-8, as Python reads it) written
    as an escape, ``\\xff``. Text without either comes back as it is."""
    text = without_nul(text)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate outside the file-name range
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
