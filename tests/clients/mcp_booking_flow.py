"""Drive calcom-mcp-for-customers (unmodified) against a base URL; print what it saw as one JSON line.

Usage: python mcp_booking_flow.py <base_url> <api_key> <event_type_id> <start_utc> <window_from> <window_to>
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    base_url, api_key, event_type_id, start, window_from, window_to = sys.argv[1:7]
    os.environ["CALCOM_API_KEY"] = api_key  # the library reads it at import time
    from calcom_mcp_for_customers import server

    server.CALCOM_API_BASE_URL = base_url.rstrip("/") + "/v2"  # its documented module-level base URL
    created = server.create_booking(
        start_time=start,
        attendee_name="Mcp Caller",
        attendee_email="mcp@example.com",
        attendee_timezone="Europe/Berlin",
        event_type_id=int(event_type_id),
    )
    listed = server.get_bookings(event_type_id=int(event_type_id), date_from=window_from, date_to=window_to)
    duplicate = server.create_booking(
        start_time=start,
        attendee_name="Second Caller",
        attendee_email="second@example.com",
        attendee_timezone="Europe/Berlin",
        event_type_id=int(event_type_id),
    )
    # The library prints its API key on import; our answer is the last line.
    print("RESULT " + json.dumps({"created": created, "listed": listed, "duplicate": duplicate}))


if __name__ == "__main__":
    main()
