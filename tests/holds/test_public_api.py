"""The public surface of holds is pinned, and holds never imports aiohttp or proxy."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import holds
from holds.scripts import SCRIPT_NAMES

EXPECTED = [
    "DEFAULT_POLICY",
    "CommitTicket",
    "Hold",
    "HoldCommitting",
    "HoldConflict",
    "HoldError",
    "HoldNotFound",
    "HoldNotOwned",
    "HoldState",
    "HoldStore",
    "HoldStoreUnavailable",
    "InvalidHold",
    "InvalidPolicy",
    "PolicyStore",
    "StaleFence",
    "TtlPolicy",
]


def test_all_is_pinned():
    assert holds.__all__ == EXPECTED
    for name in holds.__all__:
        assert getattr(holds, name) is not None


def test_every_error_has_the_one_root():
    errors = [getattr(holds, n) for n in EXPECTED if isinstance(getattr(holds, n), type)]
    for cls in errors:
        if issubclass(cls, Exception):
            assert issubclass(cls, holds.HoldError), cls


def test_state_values():
    assert [s.value for s in holds.HoldState] == ["held", "committing", "booked"]
    assert holds.HoldState("held") is holds.HoldState.HELD


def test_holds_source_never_imports_aiohttp_or_proxy():
    root = pathlib.Path(holds.__file__).parent
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in {"aiohttp", "proxy"}, (path, name)


def test_importing_holds_loads_neither_aiohttp_nor_proxy():
    code = "import sys, holds; print(sorted(m for m in ('aiohttp', 'proxy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_lua_script_starts_with_a_contract_header():
    lua = pathlib.Path(holds.__file__).parent / "lua"
    files = sorted(p for p in lua.glob("*.lua") if not p.name.startswith("_"))
    # Every script the store registers has its file (replace_policy.lua belongs to PolicyStore).
    assert set(SCRIPT_NAMES) <= {p.stem for p in files}
    for path in files:
        head = path.read_text().splitlines()[:6]
        assert head[0].startswith(f"-- {path.stem}:"), path
        assert any(line.startswith("-- KEYS") for line in head), path
        assert any(line.startswith("-- ARGV") for line in head), path
        assert any(line.startswith("-- returns") for line in head), path
