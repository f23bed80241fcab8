"""A non-editable install (the Docker image's) carries every file of proxy/ and holds/.

The editable install that the tests use reads the source tree, so a template, a Lua script or a JSON file
left out of [tool.setuptools.package-data] would break the image only. This builds the wheel that the
Dockerfile installs, with the uv that scripts/setup.sh pins, from a copy of the sources, and compares files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".venv-tools" / "bin" / "uv"
PACKAGES = ("proxy", "holds")


def source_files() -> set[str]:
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                found.add(path.relative_to(ROOT).as_posix())
    return found


def test_wheel_contains_every_package_file(tmp_path: Path) -> None:
    assert UV.exists(), f"{UV} is missing: run scripts/setup.sh"
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    result = subprocess.run(
        [str(UV), "build", "--quiet", "--wheel", "--out-dir", str(tmp_path / "dist"), str(source)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = (tmp_path / "dist").glob("calproxy-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = {name for name in archive.namelist() if name.split("/")[0] in PACKAGES}
    missing = source_files() - in_wheel
    assert not missing, f"not in the wheel (see [tool.setuptools.package-data]): {sorted(missing)}"
