"""JSON parsed with bounded memory: the document is measured before any object is built.

`json.loads` turns three bytes (``{},``) into a 64-byte dict: a body of tiny values within the
size limit can cost twenty times its size in memory, and a list nested 100,000 deep ends in a
RecursionError. `loads_bounded` first counts the values and the nesting depth on the raw text
(string literals cut out with two C-speed regex passes, then bytes counted), and refuses a
document over either limit before parsing it, so memory stays within a small multiple of the
text plus `max_values` small objects.

Used for every REST body (api/json_body.py) and for each JSON cell read from another queue
extension's database (peers/sachira.py, peers/agent.py).
"""

from __future__ import annotations

import json
import re
from array import array
from itertools import accumulate
from typing import Any

from ..api.payload import MAX_DEPTH as FIELD_DEPTH

# A queued task is a few hundred values (a UI task with ControlNet units: about 300 to 1,000),
# so 10,000 tasks fit; the worst case (short strings or empty objects) costs about 100 bytes
# per value: 200 MB, against 1.3 GB for a 64 MB body of empty objects parsed unchecked.
MAX_VALUES = 2_000_000
# Deeper than the per-field check (api_payload.MAX_DEPTH, which names the field) plus the
# envelope of an import document (tasks, index, params, payload, ...): that check still
# answers first for anything but absurd nesting.
MAX_DEPTH = FIELD_DEPTH + 16

_STRING = re.compile(rb'"[^"]*"')  # once escapes are gone, a string has no inner quote
_OPENERS = b"[{"
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
# [ and { become +1, ] and } become -1 (0xff read as a signed byte)
_SIGNS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


class JSONTooLarge(ValueError):
    """More values than allowed (HTTP 413): refused before any is built."""

    def __init__(self, values: int, limit: int):
        super().__init__(
            f"holds about {values:,} JSON values (strings, numbers, objects, lists); "
            f"at most {limit:,} are taken"
        )
        self.values = values
        self.limit = limit


class JSONTooDeep(ValueError):
    """Nested deeper than allowed (HTTP 422)."""

    def __init__(self, depth: int | None, limit: int):
        found = f"{depth:,} levels" if depth is not None else "too many levels"
        super().__init__(f"nested {found} deep; at most {limit} are taken")
        self.depth = depth
        self.limit = limit


def check_bounds(text: bytes | str, max_values: int, max_depth: int) -> None:
    """Raise JSONTooLarge or JSONTooDeep for a JSON text over the limits, without parsing it.

    Values are counted from the separators and brackets outside strings (every value but
    the first of a non-empty list or object follows a comma): an upper bound for valid JSON,
    a cheap guess for anything else (json.loads refuses that afterwards anyway). Every pass
    is a C-speed bytes operation except the depth count, run once the brackets are few.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if b"\\" in data:  # a run of backslashes pairs up from its start; then \" is a quote kept
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    strings = data.count(b'"') // 2
    if strings > 2 * max_values:  # a value is at most two strings (a key and itself)
        raise JSONTooLarge(strings // 2, max_values)
    if strings:
        data = _STRING.sub(b"", data)
    opens = sum(data.count(char) for char in _OPENERS)
    empty = data.count(b"[]") + data.count(b"{}")
    values = data.count(b",") + opens - empty + 1  # a key and its value count once
    if values > max_values:
        raise JSONTooLarge(values, max_values)
    if opens:
        depth = max(accumulate(array("b", data.translate(_SIGNS, _NOT_BRACKETS))))
        if depth > max_depth:
            raise JSONTooDeep(depth, max_depth)


def loads_bounded(
    text: bytes | str, max_values: int = MAX_VALUES, max_depth: int = MAX_DEPTH
) -> Any:
    """`json.loads(text)`, after `check_bounds`.

    Raises JSONTooLarge or JSONTooDeep before parsing, or ValueError (json.JSONDecodeError)
    for text that is not JSON.
    """
    check_bounds(text, max_values, max_depth)
    try:
        return json.loads(text)
    except RecursionError:  # only if the count was fooled (a malformed string)
        raise JSONTooDeep(None, max_depth) from None
