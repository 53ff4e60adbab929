"""Run README's plain POSIX set-up commands (the block between ``<!-- posix-setup -->`` markers) in a
fresh copy of the repository, so they cannot rot: ``python tools/readme_setup.py [--torch LINE]``.

Run as written, except:

* the torch line, replaced by ``--torch`` (CI's runners carry a local CPU wheel and reach no PyTorch
  index: ``.ci/run`` passes ``pip install torch==2.13.0``);
* the test lines collect the tests and notebooks without running them (``--collect-only``): the
  commands, plugins and imports are what is checked; ``make test`` runs the suite itself;
* ``jupyter lab notebooks/`` would wait for a browser: it is asked for its version instead.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_BLOCK = re.compile(r"<!-- posix-setup -->\n```bash\n(.*?)```\n<!-- /posix-setup -->", re.DOTALL)


def posix_commands(readme: Path = ROOT / "README.md") -> list[str]:
    """The commands of README's POSIX block, comments stripped."""
    match = _BLOCK.search(readme.read_text(encoding="utf-8"))
    if not match:
        raise ValueError(f"{readme} has no ```bash block between <!-- posix-setup --> markers")
    lines = (re.sub(r"\s+#.*$", "", line).strip() for line in match.group(1).splitlines())
    return [line for line in lines if line]


def ci_commands(commands: list[str], torch_line: str) -> list[str]:
    """README's commands as CI runs them (see the module docstring)."""
    result = []
    for command in commands:
        if " install torch" in command:
            command = torch_line
        elif " -m pytest " in command:
            command += " --collect-only -q"
        elif command.endswith("jupyter lab notebooks/"):
            command = command.replace("lab notebooks/", "lab --version")
        result.append(command)
    return result


def fresh_copy(destination: Path) -> None:
    """The repository's tracked and not-ignored files, as a clean clone would have them."""
    listing = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                             check=True, capture_output=True).stdout.decode()
    for name in filter(None, listing.split("\0")):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--torch", default=".venv/bin/python -m pip install torch==2.13.0",
                        help="the command that replaces README's torch line")
    args = parser.parse_args(argv)
    commands = ci_commands(posix_commands(), args.torch)
    with tempfile.TemporaryDirectory(prefix="rnnlib-readme-") as folder:
        fresh_copy(Path(folder))
        for command in commands:
            print(f"$ {command}", flush=True)
            subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=folder, check=True)
    print(f"README's {len(commands)} set-up commands ran in a fresh copy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
