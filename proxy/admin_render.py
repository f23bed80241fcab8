"""HTML of the status page: one jinja2 environment over `proxy/admin_page/`, autoescaping HTML and SVG.

Pure apart from reading the templates: handlers gather the data, this module only turns it into text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from proxy.advisor_chart import advisor_chart, number, percent_label


@cache
def environment() -> Environment:
    """The page's templates; every value is escaped unless a template says otherwise (none does)."""
    env = Environment(
        loader=PackageLoader("proxy", "admin_page"),
        autoescape=select_autoescape(["html", "svg"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clock"] = clock
    env.filters["share"] = share
    env.filters["seconds"] = seconds
    return env


def render(template: str, **context: Any) -> str:
    """One page."""
    return environment().get_template(template).render(**context)


def advisor_svg(advisor: Mapping[str, Any]) -> Markup:
    """The advisor's trade-off as inline SVG (escaped by its own template, so safe to embed)."""
    return Markup(render("advisor_chart.svg", chart=advisor_chart(advisor)))


def clock(iso: object) -> str:
    """`2026-12-24 09:00` from an ISO timestamp (its own offset kept); anything else as it came."""
    if not isinstance(iso, str):
        return "–" if iso is None else str(iso)
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def share(value: object) -> str:
    """A share as a percentage, or `–` when there is none."""
    found = number(value)
    return "–" if found is None else percent_label(found)


def seconds(value: object) -> str:
    """Seconds without a needless `.0`, or `–`."""
    found = number(value)
    return "–" if found is None else f"{found:g} s"
