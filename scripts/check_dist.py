"""Check a built wheel and sdist before anyone installs them: usage ``check_dist.py WHEEL SDIST``.

The wheel must carry the package, its ``py.typed`` marker, the LICENSE and metadata that agrees
with ``pyproject.toml`` (version, license, classifiers), and nothing from the repository that
users do not import (tests, benchmarks, docs). The sdist must carry what rebuilding and
reviewing the release needs. Exits non-zero, listing every problem.
"""

from __future__ import annotations

import sys
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wheel_problems(wheel: Path, project: dict[str, object]) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        dist_info = next(name.split("/")[0] for name in names if name.split("/")[0].endswith(".dist-info"))
        metadata = Parser().parsestr(archive.read(f"{dist_info}/METADATA").decode())
    required = ("archipy_lite/__init__.py", "archipy_lite/py.typed")
    problems = [f"wheel lacks {path}" for path in required if path not in names]
    if f"{dist_info}/licenses/LICENSE" not in names:
        problems.append("wheel lacks the LICENSE in its .dist-info/licenses/")
    strays = sorted({name.split("/")[0] for name in names} - {"archipy_lite", dist_info})
    if strays:
        problems.append(f"wheel carries more than the package: {strays}")
    if metadata["Version"] != project["version"]:
        problems.append(f"wheel version {metadata['Version']} is not pyproject's {project['version']}")
    if metadata["License-Expression"] != project["license"]:
        problems.append(f"wheel license {metadata['License-Expression']!r} is not {project['license']!r}")
    classifiers: list[str] = project["classifiers"]  # type: ignore[assignment]
    missing = sorted(set(classifiers) - set(metadata.get_all("Classifier") or []))
    if missing:
        problems.append(f"wheel metadata lacks classifiers {missing}")
    return problems


def sdist_problems(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    wanted = ["LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml", "archipy_lite/py.typed"]
    return [f"sdist lacks {name}" for name in wanted if name not in names]


def main(wheel: str, sdist: str) -> int:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    problems = wheel_problems(Path(wheel), project) + sdist_problems(Path(sdist))
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if not problems:
        print(f"{Path(wheel).name} and {Path(sdist).name}: contents and metadata as pyproject.toml says")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
