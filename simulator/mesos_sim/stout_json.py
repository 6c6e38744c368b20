"""stout's `JSON::parse` (3rdparty/stout/include/stout/json.hpp), the parser behind every JSON body
Mesos reads: the v1 operator API, `/master/maintenance/*`, flags such as `--modules`, and the
allocator module (both of its builds, compiled against the stout of Mesos 0.28.2 to 1.0.3, which
already has the check for trailing characters, added in 0.26.0).

stout hands the text to picojson, then refuses anything but whitespace after the value:
`Parsed JSON included non-whitespace trailing characters: <from where picojson stopped to the last
character that is not whitespace>`. Errors are raised as ValueError with Mesos' text.
"""

from __future__ import annotations

import json
import re

# strings::WHITESPACE, picojson's too.
WHITESPACE = " \t\n\r"
TRAILING = "Parsed JSON included non-whitespace trailing characters: "
WRONG_TYPE = "Unexpected JSON type parsed"
# The characters picojson takes into a number before handing them to strtoimax/strtod.
_NUMBER_CHARS = re.compile(r"[0-9+\-eE.]*")
_INTEGER = re.compile(r"-?[0-9]+")
_DECODER = json.JSONDecoder()


def parse(text: str):
    """The value `text` holds, or ValueError with stout's error text."""
    start = len(text) - len(text.lstrip(WHITESPACE))
    if text[start : start + 1] in tuple("-0123456789"):
        value, end = _number(text, start)
    else:
        try:
            value, end = _DECODER.raw_decode(text, start)
        except ValueError as exc:
            raise ValueError(picojson_error(text, exc)) from None
    last = len(text.rstrip(WHITESPACE))
    if end != last:
        # stout's substr(end, last - end): a negative length (picojson read past the last visible character,
        # see _number) wraps around to "the rest of the text".
        raise ValueError(TRAILING + (text[end:last] if end < last else text[end:]))
    return value


def parse_object(text: str) -> dict:
    """`JSON::parse<JSON::Object>`."""
    value = parse(text)
    if not isinstance(value, dict):
        raise ValueError(WRONG_TYPE)
    return value


def _number(text: str, start: int):
    """picojson reads a number as every character that may belong to one, then reads the next character and
    puts it back; putting back does not move its position, so it stops one past the number (unless the text
    ends there). The collected characters must make a whole integer or double."""
    end = _NUMBER_CHARS.match(text, start).end()
    digits = text[start:end]
    try:
        value = int(digits) if _INTEGER.fullmatch(digits) else float(digits)
    except ValueError:
        raise ValueError(_error_text(text, end)) from None
    return value, min(end + 1, len(text))


def picojson_error(text: str, exc: Exception) -> str:
    """picojson's text for a failure that Python's parser reported in `exc`: the line and the rest of it from
    where parsing stopped. picojson stops after the part of a literal (`null`, `true`, `false`) that matched;
    Python before it."""
    pos = getattr(exc, "pos", 0) or 0
    # Only where a value was expected does picojson try a literal ("{not json" fails at the n).
    literals = ("null", "true", "false") if str(exc).startswith("Expecting value") else ()
    for literal in literals:
        matched = 0
        while matched < len(literal) and text[pos + matched : pos + matched + 1] == literal[matched]:
            matched += 1
        if matched:
            pos += matched
            break
    return _error_text(text, pos)


def _error_text(text: str, pos: int) -> str:
    """`syntax error at line N near: ` and the rest of that line from `pos`, without control characters."""
    line = text.count("\n", 0, pos) + 1
    rest = text[pos:].split("\n", 1)[0]
    return f"syntax error at line {line} near: " + "".join(c for c in rest if c >= " ")
