"""What the scripts that derive a committed JSON file from Cal.com's OpenAPI document share.

`refs` and `closure` follow `$ref`s between component schemas; `main` writes the file, stamped with today's
date, or with `--check` compares the committed file with what the source builds under the committed stamp
(exit 1 when they differ), so CI notices a stale copy.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

Json = dict[str, Any]
PREFIX = "#/components/schemas/"
# calproxy's own document also refers to shared error responses; those are not schemas to copy.
RESPONSES_PREFIX = "#/components/responses/"


def refs(node: Any) -> set[str]:
    """Names of the component schemas that `node` refers to directly."""
    found: set[str] = set()
    if isinstance(node, dict):
        target = node.get("$ref")
        if isinstance(target, str) and not target.startswith(RESPONSES_PREFIX):
            if not target.startswith(PREFIX):
                raise ValueError(f"unexpected $ref {target!r}")
            found.add(target.removeprefix(PREFIX))
        for value in node.values():
            found |= refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= refs(value)
    return found


def closure(schemas: Json, roots: Iterable[str]) -> Json:
    """The roots and every schema reachable from them through `$ref`, sorted by name."""
    keep: set[str] = set()
    todo = sorted(roots)
    while todo:
        name = todo.pop()
        if name not in keep:
            keep.add(name)
            todo.extend(sorted(refs(schemas[name]) - keep))
    return {name: schemas[name] for name in sorted(keep)}


def render(document: Json) -> str:
    """The committed form: sorted keys, one space of indent, a final newline."""
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(
    description: str | None,
    source: Path,
    target: Path,
    build: Callable[[Json, str], Json],
    stamp: str,
    argv: Sequence[str] | None = None,
) -> int:
    """Build `target` from `source` (`build(spec, date)`), or check it; `stamp` names the date in `info`."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, default=source)
    parser.add_argument("--check", action="store_true", help="compare with the committed file only")
    args = parser.parse_args(argv)
    spec = json.loads(args.source.read_text(encoding="utf-8"))
    if args.check:
        committed = json.loads(target.read_text(encoding="utf-8"))
        if render(build(spec, committed["info"][stamp])) != render(committed):
            print(f"{target} differs from what {args.source} builds: rerun without --check", file=sys.stderr)
            return 1
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(build(spec, datetime.date.today().isoformat())), encoding="utf-8")
    return 0
