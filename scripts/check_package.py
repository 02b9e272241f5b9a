"""Build the wheel and sdist, run twine check, and check what the wheel ships.

Every file under jwtsafe/ that a running project needs must be in the
wheel: modules, migrations, templates, static files, translations and
py.typed. The version comes from jwtsafe/__init__.py alone.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "jwtsafe"
# Files that only exist while developing, never shipped.
IGNORED = re.compile(r"(__pycache__|\.pyc$)")


def shipped_files() -> set[str]:
    """Return every file under jwtsafe/ that the wheel must contain."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and not IGNORED.search(path.as_posix())
    }


def main() -> int:
    version = re.search(
        r'__version__ = "([^"]+)"', (PACKAGE / "__init__.py").read_text()
    )
    assert version is not None
    with tempfile.TemporaryDirectory() as directory:
        subprocess.run(
            [sys.executable, "-m", "build", "--outdir", directory, str(ROOT)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        built = sorted(Path(directory).iterdir())
        subprocess.run(
            [sys.executable, "-m", "twine", "check", "--strict", *map(str, built)],
            check=True,
        )
        wheels = [path for path in built if path.suffix == ".whl"]
        sdists = [path for path in built if path.name.endswith(".tar.gz")]
        if len(wheels) != 1 or len(sdists) != 1:
            print(f"expected one wheel and one sdist, got {built}")
            return 1
        if f"-{version.group(1)}-" not in wheels[0].name:
            print(f"{wheels[0].name} does not carry version {version.group(1)}")
            return 1
        with zipfile.ZipFile(wheels[0]) as wheel:
            in_wheel = {
                name for name in wheel.namelist() if name.startswith("jwtsafe/")
            }
    missing = sorted(shipped_files() - in_wheel)
    if missing:
        print("missing from the wheel:\n  " + "\n  ".join(missing))
        return 1
    kinds = {
        "migrations": "jwtsafe/migrations/",
        "templates": "jwtsafe/templates/",
        "translations": "jwtsafe/locale/",
        "py.typed": "jwtsafe/py.typed",
    }
    found = {
        kind: sum(1 for name in in_wheel if name.startswith(prefix))
        for kind, prefix in kinds.items()
    }
    print(
        f"{wheels[0].name} and {sdists[0].name}: twine check passed; "
        + ", ".join(f"{count} {kind}" for kind, count in found.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
