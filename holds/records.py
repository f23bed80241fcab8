"""Compact hold records as stored in the per-resource Redis hash; the Lua side mirrors this codec.

A record is ``state|start|end|expires|created|fence|seq|owner`` with state one letter (h, c, b) and
integers in decimal. The owner comes last so it may contain '|'. ``seq`` orders an owner's holds by
creation for the per-owner cap and is not part of Hold.
"""

from __future__ import annotations

from holds.models import Hold, HoldState

_STATE_TO_CODE = {HoldState.HELD: "h", HoldState.COMMITTING: "c", HoldState.BOOKED: "b"}
_CODE_TO_STATE = {code: state for state, code in _STATE_TO_CODE.items()}


def encode_record(hold: Hold, seq: int) -> str:
    """Encode a hold as its stored record."""
    fields = (hold.start_ms, hold.end_ms, hold.expires_at_ms, hold.created_ms, hold.fence, seq)
    return "|".join([_STATE_TO_CODE[hold.state], *map(str, fields), hold.owner])


def decode_record(resource: str, uid: str, record: str) -> Hold:
    """Decode a stored record into a Hold."""
    code, start, end, expires, created, fence, _seq, owner = record.split("|", 7)
    return Hold(
        uid=uid,
        resource=resource,
        owner=owner,
        start_ms=int(start),
        end_ms=int(end),
        expires_at_ms=int(expires),
        state=_CODE_TO_STATE[code],
        created_ms=int(created),
        fence=int(fence),
    )


def record_seq(record: str) -> int:
    """The creation sequence number stored in a record."""
    return int(record.split("|", 7)[6])
