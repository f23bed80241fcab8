"""The scenarios recorded against the real Cal.com (scripts/real-calcom/record.py), dated from the recording.

Each is a list of steps (tests/golden/exchange.py); the recorder stores the concrete requests it sent, so the
replay never recomputes dates: it runs the simulator on the recording's clock.
"""

# ruff: noqa: E501 (a table of requests: one step per line reads better than wrapped ones)
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tests.golden.exchange import VERSIONS, Step

S, B = VERSIONS["slots"], VERSIONS["bookings"]


@dataclass
class Scenario:
    name: str
    steps: list[Step]


def _monday_after(today: date, days: int) -> date:
    day = today + timedelta(days=days)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def _slots(name: str, **query: str) -> Step:
    return Step(name, "GET", "/v2/slots", query=query, version=S)


def _attendee(name: str, email: str, zone: str = "Europe/Berlin") -> dict[str, str]:
    return {"name": name, "email": email, "timeZone": zone}


def scenarios(now: datetime) -> list[Scenario]:
    """Every scenario, dated from `now` (the recording's clock)."""
    d = _monday_after(now.date(), 14)
    mon, tue, wed, thu, fri = (str(d + timedelta(days=n)) for n in (0, 1, 2, 3, 4))
    past = str(_monday_after(now.date(), -21))
    # DST: Europe switches on Sunday 2027-03-28, the US on Sunday 2027-03-14 (working days either side).
    eu_dst = ("2027-03-26", "2027-03-29")
    us_dst = ("2027-03-12", "2027-03-15")
    return [
        Scenario("slots-formats-and-zones", [
            _slots("utc", eventTypeId="1001", start=mon, end=mon),
            _slots("berlin", eventTypeId="1001", start=mon, end=mon, timeZone="Europe/Berlin"),
            _slots("new-york", eventTypeId="1001", start=mon, end=mon, timeZone="America/New_York"),
            _slots("range-format", eventTypeId="1001", start=mon, end=mon, timeZone="Europe/Berlin", format="range"),
            _slots("format-uppercase", eventTypeId="1001", start=mon, end=mon, format="RANGE"),
            _slots("sixty-on-fifteen-grid", eventTypeId="1002", start=tue, end=tue, timeZone="Europe/Berlin"),
            _slots("new-york-host", eventTypeId="2001", start=wed, end=wed, timeZone="America/New_York"),
            _slots("week", eventTypeId="1001", start=mon, end=fri, timeZone="Asia/Kolkata"),
            _slots("by-username-and-slug", username="berlin-host", eventTypeSlug="consultation-30", start=mon, end=mon),
            _slots("weekend-only", eventTypeId="1001", start=str(d - timedelta(days=2)), end=str(d - timedelta(days=1))),
        ]),
        Scenario("slots-window-edges", [
            _slots("end-midnight-z", eventTypeId="1001", start=f"{mon}T00:00:00.000Z", end=f"{tue}T00:00:00.000Z"),
            _slots("start-midday", eventTypeId="1001", start=f"{mon}T12:00:00.000Z", end=f"{mon}T23:59:59.000Z"),
            _slots("end-before-slot-end", eventTypeId="1001", start=f"{mon}T08:00:00.000Z", end=f"{mon}T09:15:00.000Z"),
            _slots("offset-input", eventTypeId="1001", start=f"{mon}T10:00:00+02:00", end=f"{mon}T14:00:00+02:00"),
            _slots("duration-on-single-length", eventTypeId="1001", start=mon, end=mon, duration="60"),
        ]),
        Scenario("slots-dst", [
            _slots("europe-before-after", eventTypeId="1001", start=eu_dst[0], end=eu_dst[1], timeZone="Europe/Berlin"),
            _slots("europe-in-utc", eventTypeId="1001", start=eu_dst[0], end=eu_dst[1]),
            _slots("us-before-after", eventTypeId="2001", start=us_dst[0], end=us_dst[1], timeZone="America/New_York"),
            _slots("us-host-seen-from-berlin", eventTypeId="2001", start=us_dst[0], end=us_dst[1], timeZone="Europe/Berlin"),
        ]),
        Scenario("slots-bad-input", [
            _slots("no-start", eventTypeId="1001", end=mon),
            _slots("bad-date", eventTypeId="1001", start="2026-13-45", end=mon),
            _slots("end-before-start", eventTypeId="1001", start=tue, end=mon),
            _slots("bad-zone", eventTypeId="1001", start=mon, end=mon, timeZone="Mars/Olympus"),
            _slots("unknown-param", eventTypeId="1001", start=mon, end=mon, colour="blue"),
            _slots("id-and-username", eventTypeId="1001", username="berlin-host", start=mon, end=mon),
            _slots("id-not-a-number", eventTypeId="abc", start=mon, end=mon),
            _slots("bad-format", eventTypeId="1001", start=mon, end=mon, format="list"),
            _slots("unknown-event-type", eventTypeId="999999", start=mon, end=mon),
        ]),
        Scenario("reservations", [
            Step("reserve", "POST", "/v2/slots/reservations", version=S,
                 body={"eventTypeId": 1001, "slotStart": f"{tue}T09:00:00.000Z"}, capture={"res1": "data.reservationUid"}),
            Step("read", "GET", "/v2/slots/reservations/{res1}", version=S),
            _slots("slots-while-reserved", eventTypeId="1001", start=tue, end=tue),
            Step("reserve-same-slot", "POST", "/v2/slots/reservations", version=S,
                 body={"eventTypeId": 1001, "slotStart": f"{tue}T09:00:00.000Z"}),
            Step("patch-over-own-time", "PATCH", "/v2/slots/reservations/{res1}", version=S,
                 body={"eventTypeId": 1001, "slotStart": f"{tue}T09:00:00.000Z"}),
            Step("patch-to-other-slot", "PATCH", "/v2/slots/reservations/{res1}", version=S,
                 body={"eventTypeId": 1001, "slotStart": f"{tue}T10:00:00.000Z"}),
            _slots("slots-after-move", eventTypeId="1001", start=tue, end=tue),
            Step("delete", "DELETE", "/v2/slots/reservations/{res1}", version=S),
            Step("read-deleted", "GET", "/v2/slots/reservations/{res1}", version=S),
            Step("patch-unknown", "PATCH", "/v2/slots/reservations/nope-0000", version=S,
                 body={"eventTypeId": 1001, "slotStart": f"{tue}T10:00:00.000Z"}),
            Step("delete-unknown", "DELETE", "/v2/slots/reservations/nope-0000", version=S),
            Step("reserve-bad-body", "POST", "/v2/slots/reservations", version=S, body={"eventTypeId": "x"}),
            Step("reserve-without-key-with-duration", "POST", "/v2/slots/reservations", version=S, key=None,
                 body={"eventTypeId": 1001, "slotStart": f"{tue}T11:00:00.000Z", "reservationDuration": 10}),
        ]),
        Scenario("bookings", [
            Step("book", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{wed}T09:00:00.000Z", "attendee": _attendee("Ann", "ann@example.com")},
                 capture={"book1": "data.uid", "book1id": "data.id"}),
            Step("book-same-slot", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{wed}T09:00:00.000Z", "attendee": _attendee("Bob", "bob@example.com")}),
            Step("book-with-offset", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{wed}T12:00:00+01:00", "attendee": _attendee("Cy", "cy@example.com")},
                 capture={"book2": "data.uid"}),
            Step("book-off-grid", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{wed}T13:10:00.000Z", "attendee": _attendee("Di", "di@example.com")},
                 capture={"book3": "data.uid"}),
            Step("book-outside-hours", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{wed}T20:00:00.000Z", "attendee": _attendee("Ed", "ed@example.com")}),
            Step("book-in-the-past", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{past}T09:00:00.000Z", "attendee": _attendee("Fi", "fi@example.com")}),
            Step("book-bad-email", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{wed}T14:00:00.000Z", "attendee": _attendee("Gu", "not-an-email")}),
            Step("book-no-attendee", "POST", "/v2/bookings", version=B, body={"eventTypeId": 1001, "start": f"{wed}T14:00:00.000Z"}),
            Step("book-unknown-event-type", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 999999, "start": f"{wed}T14:00:00.000Z", "attendee": _attendee("Ha", "ha@example.com")}),
            Step("book-sixty", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1002, "start": f"{fri}T10:15:00.000Z", "attendee": _attendee("Io", "io@example.com")},
                 capture={"book4": "data.uid"}),
            _slots("slots-after-bookings", eventTypeId="1001", start=wed, end=wed),
            Step("read", "GET", "/v2/bookings/{book1}", version=B),
            Step("read-unknown", "GET", "/v2/bookings/unknown-uid-0000", version=B),
            Step("reschedule", "POST", "/v2/bookings/{book2}/reschedule", version=B,
                 body={"start": f"{wed}T15:00:00.000Z", "reschedulingReason": "moved"},
                 capture={"moved": "data.uid"}),
            Step("cancel", "POST", "/v2/bookings/{book1}/cancel", version=B, body={"cancellationReason": "no longer"}),
            Step("cancel-again", "POST", "/v2/bookings/{book1}/cancel", version=B, body={"cancellationReason": "again"}),
            Step("cancel-unknown", "POST", "/v2/bookings/unknown-uid-0000/cancel", version=B, body={}),
            _slots("slots-after-cancel", eventTypeId="1001", start=wed, end=wed),
        ]),
        Scenario("booking-refusals", [
            Step("length-on-single-length", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{wed}T09:00:00.000Z", "lengthInMinutes": 60, "attendee": _attendee("Jo", "jo@example.com")}),
            Step("book", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{wed}T10:00:00.000Z", "attendee": _attendee("Ka", "ka@example.com")},
                 capture={"first": "data.uid"}),
            Step("book-other", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{wed}T11:00:00.000Z", "attendee": _attendee("Li", "li@example.com")},
                 capture={"second": "data.uid"}),
            Step("reschedule-onto-a-booking", "POST", "/v2/bookings/{second}/reschedule", version=B, body={"start": f"{wed}T10:00:00.000Z"}),
            Step("overlap-from-the-sixty", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1002, "start": f"{wed}T09:45:00.000Z", "attendee": _attendee("Mo", "mo@example.com")}),
            Step("book-with-the-other-hosts-key", "POST", "/v2/bookings", version=B, key="beta",
                 body={"eventTypeId": 1001, "start": f"{wed}T13:00:00.000Z", "attendee": _attendee("Ni", "ni@example.com")},
                 capture={"third": "data.uid"}),
            Step("book-without-a-key", "POST", "/v2/bookings", version=B, key=None,
                 body={"eventTypeId": 1001, "start": f"{wed}T14:00:00.000Z", "attendee": _attendee("Ol", "ol@example.com")},
                 capture={"fourth": "data.uid"}),
            Step("cancel", "POST", "/v2/bookings/{first}/cancel", version=B, body={"cancellationReason": "x"}),
            Step("reschedule-a-cancelled-booking", "POST", "/v2/bookings/{first}/reschedule", version=B, body={"start": f"{wed}T15:00:00.000Z"}),
            Step("reserve-with-duration-on-anothers-event-type", "POST", "/v2/slots/reservations", version=S, key="beta",
                 body={"eventTypeId": 1001, "slotStart": f"{wed}T15:30:00.000Z", "reservationDuration": 10}),
            Step("reserve-with-duration-as-owner", "POST", "/v2/slots/reservations", version=S,
                 body={"eventTypeId": 1001, "slotStart": f"{wed}T15:30:00.000Z", "reservationDuration": 10},
                 capture={"res": "data.reservationUid"}),
            Step("legacy-available", "GET", "/v2/slots/available", version="2024-04-15",
                 query={"eventTypeId": "1001", "startTime": f"{wed}T00:00:00.000Z", "endTime": f"{wed}T23:59:59.000Z", "timeZone": "Europe/Berlin"}),
        ]),
        Scenario("booking-attendee-contacts", [
            Step("bad-phone", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{tue}T09:00:00.000Z", "attendee": {**_attendee("Pa", "pa@example.com"), "phoneNumber": "12345"}},
                 capture={"pa": "data.uid"}),
            Step("email-and-phone", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{tue}T09:30:00.000Z", "attendee": {**_attendee("Qu", "qu@example.com"), "phoneNumber": "+4915112345678"}},
                 capture={"qu": "data.uid"}),
            Step("phone-only", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{tue}T10:00:00.000Z", "attendee": {"name": "Ra", "phoneNumber": "+4915112345679", "timeZone": "Europe/Berlin"}}),
            Step("no-contact", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{tue}T10:30:00.000Z", "attendee": {"name": "Si", "timeZone": "Europe/Berlin"}}),
            Step("no-event-type", "POST", "/v2/bookings", version=B,
                 body={"start": f"{tue}T11:30:00.000Z", "attendee": _attendee("Ul", "ul@example.com")}),
            Step("slug-without-username", "POST", "/v2/bookings", version=B,
                 body={"eventTypeSlug": "consultation-30", "start": f"{tue}T11:30:00.000Z", "attendee": _attendee("Vi", "vi@example.com")}),
            Step("phone-not-a-string", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{tue}T11:00:00.000Z", "attendee": {**_attendee("Tu", "tu@example.com"), "phoneNumber": 4915112345678}}),
        ]),
        Scenario("booking-list", [
            Step("book-0900", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{thu}T09:00:00.000Z", "attendee": _attendee("Aa", "aa@example.com")},
                 capture={"b1": "data.uid"}),
            Step("book-1000", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{thu}T10:00:00.000Z", "attendee": _attendee("Bb", "bb@example.com")},
                 capture={"b2": "data.uid"}),
            Step("book-1100", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{thu}T11:00:00.000Z", "attendee": _attendee("Cc", "cc@example.com")},
                 capture={"b3": "data.uid"}),
            Step("book-sixty-1300", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1002, "start": f"{thu}T13:00:00.000Z", "attendee": _attendee("Dd", "dd@example.com")},
                 capture={"b4": "data.uid"}),
            Step("book-1430", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{thu}T14:30:00.000Z", "attendee": _attendee("Ee", "ee@example.com")},
                 capture={"b5": "data.uid"}),
            Step("book-other-host", "POST", "/v2/bookings", version=B, key="beta",
                 body={"eventTypeId": 2001, "start": f"{thu}T15:00:00.000Z", "attendee": _attendee("Ff", "ff@example.com")},
                 capture={"b7": "data.uid"}),
            Step("cancel-1100", "POST", "/v2/bookings/{b3}/cancel", version=B, body={"cancellationReason": "gone"}),
            Step("reschedule-1430", "POST", "/v2/bookings/{b5}/reschedule", version=B,
                 body={"start": f"{thu}T15:30:00.000Z"}, capture={"b6": "data.uid"}),
            Step("list-all", "GET", "/v2/bookings", version=B),
            Step("reconciler-page-1", "GET", "/v2/bookings", version=B,
                 query={"eventTypeId": "1001", "afterStart": f"{thu}T00:00:00.000Z", "sortCreated": "asc", "take": "2", "skip": "0"}),
            Step("reconciler-page-2", "GET", "/v2/bookings", version=B,
                 query={"eventTypeId": "1001", "afterStart": f"{thu}T00:00:00.000Z", "sortCreated": "asc", "take": "2", "skip": "2"}),
            Step("reconciler-page-3", "GET", "/v2/bookings", version=B,
                 query={"eventTypeId": "1001", "afterStart": f"{thu}T00:00:00.000Z", "sortCreated": "asc", "take": "2", "skip": "4"}),
            Step("after-start-on-a-start", "GET", "/v2/bookings", version=B,
                 query={"eventTypeId": "1001", "afterStart": f"{thu}T10:00:00.000Z", "sortStart": "asc"}),
            Step("before-end-on-an-end", "GET", "/v2/bookings", version=B,
                 query={"beforeEnd": f"{thu}T10:30:00.000Z", "sortStart": "asc"}),
            Step("status-cancelled", "GET", "/v2/bookings", version=B, query={"status": "cancelled"}),
            Step("status-upcoming", "GET", "/v2/bookings", version=B, query={"status": "upcoming", "sortStart": "desc"}),
            Step("status-two", "GET", "/v2/bookings", version=B, query={"status": "upcoming,cancelled", "sortStart": "asc"}),
            Step("event-type-ids", "GET", "/v2/bookings", version=B, query={"eventTypeIds": "1002,2001"}),
            Step("attendee-email", "GET", "/v2/bookings", version=B, query={"attendeeEmail": "bb@example.com"}),
            Step("booking-uid", "GET", "/v2/bookings", version=B, query={"bookingUid": "{b2}"}),
            Step("other-host", "GET", "/v2/bookings", version=B, key="beta"),
            Step("no-key", "GET", "/v2/bookings", version=B, key=None),
            Step("take-zero", "GET", "/v2/bookings", version=B, query={"take": "0"}),
            Step("take-too-many", "GET", "/v2/bookings", version=B, query={"take": "251"}),
            Step("skip-negative", "GET", "/v2/bookings", version=B, query={"skip": "-1"}),
            Step("sort-bad", "GET", "/v2/bookings", version=B, query={"sortCreated": "up"}),
            Step("after-start-bad", "GET", "/v2/bookings", version=B, query={"afterStart": "nope"}),
            Step("event-type-id-bad", "GET", "/v2/bookings", version=B, query={"eventTypeId": "abc"}),
            Step("status-bad", "GET", "/v2/bookings", version=B, query={"status": "bogus"}),
            Step("unknown-param", "GET", "/v2/bookings", version=B, query={"colour": "blue", "take": "1"}),
        ]),
        Scenario("shared-calendar", [
            Step("book-thirty-1000", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{thu}T10:00:00.000Z", "attendee": _attendee("Ha", "ha@example.com")},
                 capture={"b1": "data.uid"}),
            _slots("sixty-after-thirty-booked", eventTypeId="1002", start=thu, end=thu),
            _slots("thirty-after-thirty-booked", eventTypeId="1001", start=thu, end=thu),
            Step("reserve-sixty-1300", "POST", "/v2/slots/reservations", version=S,
                 body={"eventTypeId": 1002, "slotStart": f"{thu}T13:00:00.000Z"}, capture={"r1": "data.reservationUid"}),
            _slots("thirty-while-sixty-reserved", eventTypeId="1001", start=thu, end=thu, timeZone="Europe/Berlin"),
            _slots("sixty-while-sixty-reserved", eventTypeId="1002", start=thu, end=thu, timeZone="Europe/Berlin"),
            Step("book-other-host-1500", "POST", "/v2/bookings", version=B, key="beta",
                 body={"eventTypeId": 2001, "start": f"{thu}T15:00:00.000Z", "attendee": _attendee("Ib", "ib@example.com")},
                 capture={"b2": "data.uid"}),
            _slots("thirty-after-other-host-booked", eventTypeId="1001", start=thu, end=thu, timeZone="America/New_York"),
            Step("book-thirty-over-the-reservation", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{thu}T13:30:00.000Z", "attendee": _attendee("Jc", "jc@example.com")},
                 capture={"b3": "data.uid"}),
        ]),
        Scenario("booking-extras", [
            Step("guests-metadata-notes-language", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{fri}T09:00:00.000Z",
                       "attendee": {**_attendee("Ka", "ka@example.com", "America/New_York"), "language": "de"},
                       "guests": ["g1@example.com", "g2@example.com"],
                       "metadata": {"callId": "c-1", "agent": "voice"},
                       "bookingFieldsResponses": {"notes": "Please call first"}},
                 capture={"b1": "data.uid"}),
            Step("read-it", "GET", "/v2/bookings/{b1}", version=B),
            Step("metadata-not-strings", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{fri}T09:30:00.000Z", "attendee": _attendee("Pa", "pa@example.com"),
                       "metadata": {"a": 1, "b": "two", "c": True, "d": 4.5}}),
            Step("metadata-one-number", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{fri}T09:30:00.000Z", "attendee": _attendee("Qa", "qa@example.com"),
                       "metadata": {"turn": 3}}),
            Step("location-not-of-the-event-type", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{fri}T10:00:00.000Z", "attendee": _attendee("La", "la@example.com"),
                       "location": {"type": "link", "link": "https://example.com/room"}}),
            Step("location-of-the-event-type", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{fri}T10:30:00.000Z", "attendee": _attendee("Ma", "ma@example.com"),
                       "location": {"type": "integration", "integration": "cal-video"}},
                 capture={"b2": "data.uid"}),
            Step("metadata-too-long", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{fri}T11:00:00.000Z", "attendee": _attendee("Na", "na@example.com"),
                       "metadata": {"k": "v" * 501}}),
            Step("guest-not-an-email", "POST", "/v2/bookings", version=B,
                 body={"eventTypeId": 1001, "start": f"{fri}T11:30:00.000Z", "attendee": _attendee("Oa", "oa@example.com"),
                       "guests": ["g3@example.com", "not-an-email"]}),
            Step("cancel-with-reason", "POST", "/v2/bookings/{b1}/cancel", version=B, body={"cancellationReason": "Caller hung up"}),
            Step("reschedule-with-reason", "POST", "/v2/bookings/{b2}/reschedule", version=B,
                 body={"start": f"{fri}T12:00:00.000Z", "reschedulingReason": "Caller asked", "rescheduledBy": "ma@example.com"},
                 capture={"b4": "data.uid"}),
            Step("read-the-original", "GET", "/v2/bookings/{b2}", version=B),
        ]),
        Scenario("catalogue", [
            Step("me", "GET", "/v2/me", version=VERSIONS["event-types"]),
            Step("me-beta", "GET", "/v2/me", version=VERSIONS["event-types"], key="beta"),
            Step("me-no-key", "GET", "/v2/me", version=VERSIONS["event-types"], key=None),
            Step("event-type-own", "GET", "/v2/event-types/1001", version=VERSIONS["event-types"]),
            Step("event-type-own-with-options", "GET", "/v2/event-types/1002", version=VERSIONS["event-types"]),
            Step("event-type-of-the-other-host", "GET", "/v2/event-types/2001", version=VERSIONS["event-types"]),
            Step("event-type-unknown", "GET", "/v2/event-types/999999", version=VERSIONS["event-types"]),
            Step("event-type-not-a-number", "GET", "/v2/event-types/abc", version=VERSIONS["event-types"]),
            Step("event-type-no-key", "GET", "/v2/event-types/1001", version=VERSIONS["event-types"], key=None),
        ]),
        Scenario("rate-limit", [
            _slots(f"request-{n}", eventTypeId="1001", start=mon, end=mon) for n in range(1, 123)
        ]),
        Scenario("booking-race", [
            Step(f"racer-{n}", "POST", "/v2/bookings", version=B, group="race",
                 body={"eventTypeId": 1001, "start": f"{fri}T09:00:00.000Z", "attendee": _attendee(f"R{n}", f"r{n}@example.com")})
            for n in range(2)
        ]),
    ]  # fmt: skip
