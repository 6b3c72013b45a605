"""tox's inline plugin: tox finds every Python 3.10-3.13 that pyenv has, with no PATH set up first.

pyenv's shims answer only for the selected version, so tox's interpreter discovery (which looks
for ``python3.X`` on PATH) skips the others and still ends with "congratulations". This puts
each installed version's ``bin`` directory on tox's PATH, the selected one first, before any
environment is configured. Without pyenv it does nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tox.plugin import impl

SUPPORTED = re.compile(r"^3\.1[0-3]\.\d+$")


def pyenv_bins() -> list[str]:
    """The ``bin`` directories of pyenv's CPython 3.10-3.13, the selected version first."""
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return []
    try:
        root = Path(
            subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        )
        listed = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True, timeout=10, check=True)
        current = subprocess.run([pyenv, "version-name"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return []
    versions = sorted((v for v in listed.stdout.split() if SUPPORTED.match(v)), key=lambda v: v != current)
    return [
        str(root / "versions" / v / "bin") for v in versions if (root / "versions" / v / "bin" / "python3").exists()
    ]


@impl
def tox_add_core_config(core_conf: Any, state: Any) -> None:
    """Extend PATH before the environments (and their interpreters) are looked up."""
    path = os.environ.get("PATH", "").split(os.pathsep)
    missing = [b for b in pyenv_bins() if b not in path]
    if missing:
        os.environ["PATH"] = os.pathsep.join([*missing, *path])
