"""Read a project's own pytest configuration the way pytest looks for it.

pytest takes the first of ``pytest.ini``, ``.pytest.ini``, ``pyproject.toml``
(with ``[tool.pytest.ini_options]``), ``tox.ini`` (with ``[pytest]``) and
``setup.cfg`` (with ``[tool:pytest]``); so does :func:`read_pytest_config`.
Only the keys ``stagewise init`` uses are read: ``testpaths``, ``addopts`` and
``markers``. A file that cannot be parsed is treated as absent.
"""

from __future__ import annotations

import configparser
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

_INI_FILES: tuple[tuple[str, str], ...] = (
    ("pytest.ini", "pytest"),
    (".pytest.ini", "pytest"),
    ("pyproject.toml", "tool.pytest.ini_options"),
    ("tox.ini", "pytest"),
    ("setup.cfg", "tool:pytest"),
)


@dataclass(frozen=True)
class PytestConfig:
    """The project's pytest settings: where they came from and the three keys init reads."""

    file: str
    section: str
    testpaths: tuple[str, ...] = ()
    addopts: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()

    @property
    def marker_names(self) -> tuple[str, ...]:
        """Registered marker names (``"slow: takes long"`` -> ``"slow"``)."""
        return tuple(m.split(":", 1)[0].split("(", 1)[0].strip() for m in self.markers if m.strip())

    def option(self, *names: str) -> tuple[str, ...]:
        """Values of an addopts option given as ``--x=V``, ``--x V`` or ``-xV`` (for ``-n``)."""
        found: list[str] = []
        args = self.addopts
        for index, arg in enumerate(args):
            for name in names:
                if arg.startswith(name + "="):
                    found.append(arg[len(name) + 1 :])
                elif arg == name and index + 1 < len(args) and not args[index + 1].startswith("-"):
                    found.append(args[index + 1])
                elif len(name) == 2 and arg.startswith(name) and len(arg) > 2 and not arg.startswith("--"):
                    found.append(arg[2:])
        return tuple(found)

    def has_flag(self, name: str) -> bool:
        """Whether addopts carries ``name`` (alone or as ``name=...``)."""
        return any(arg == name or arg.startswith(name + "=") for arg in self.addopts)


def read_pytest_config(root: Path) -> PytestConfig | None:
    """The first pytest configuration pytest itself would use in ``root``, or ``None``."""
    for name, section in _INI_FILES:
        path = root / name
        if not path.is_file():
            continue
        if name == "pyproject.toml":
            config = _from_pyproject(path)
        else:
            config = _from_ini(path, section, required=name in ("pytest.ini", ".pytest.ini"))
        if config is not None:
            return config
    return None


def _from_pyproject(path: Path) -> PytestConfig | None:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    options = document.get("tool", {}).get("pytest", {}).get("ini_options")
    if not isinstance(options, dict):
        return None
    addopts = options.get("addopts", ())
    return PytestConfig(
        file=path.name,
        section="[tool.pytest.ini_options]",
        testpaths=_strings(options.get("testpaths", ())),
        addopts=tuple(_split(addopts)) if isinstance(addopts, str) else _strings(addopts),
        markers=_strings(options.get("markers", ())),
    )


def _from_ini(path: Path, section: str, *, required: bool) -> PytestConfig | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except (OSError, UnicodeDecodeError, configparser.Error):
        return None
    if not parser.has_section(section):
        # pytest.ini is pytest's file even without a [pytest] section.
        return PytestConfig(file=path.name, section=f"[{section}]") if required else None
    values = parser[section]
    return PytestConfig(
        file=path.name,
        section=f"[{section}]",
        testpaths=tuple(values.get("testpaths", "").split()),
        addopts=tuple(_split(values.get("addopts", ""))),
        markers=tuple(line.strip() for line in values.get("markers", "").splitlines() if line.strip()),
    )


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, str | int | float))
    return ()
