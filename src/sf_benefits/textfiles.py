"""Text files people send (CSV from Excel, in whatever encoding Excel chose) read as text, or
refused in plain words: UTF-8 (with or without a byte-order mark), UTF-16 with its mark (Excel's
"Unicode text"), and Windows-1252 (Excel's "CSV" on English Windows, with "£" as byte 0xA3)."""

from __future__ import annotations

import codecs


class UnreadableText(ValueError):
    """The bytes are not text in any encoding the tool reads; the message says so plainly."""


def decode_text(content: bytes, name: str) -> str:
    """The file's text, whatever of the supported encodings it was saved in."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            raise UnreadableText(f"{name} says it is UTF-16 text but is not: save it again as "
                                 "CSV (UTF-8)") from None
    if b"\x00" in content:
        raise UnreadableText(f"{name} is not a text (CSV) file: save it from your spreadsheet as "
                             "CSV (UTF-8)")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp1252")
    except UnicodeDecodeError:
        raise UnreadableText(f"{name} is in a text encoding the tool cannot read: save it from "
                             "your spreadsheet as CSV (UTF-8)") from None
