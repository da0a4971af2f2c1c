#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Set the release version: scripts/set-version.py X.Y.Z

VERSION is the one place the version is kept; meson.build (and through it the
`jpu` wheel, the library and the CLI) reads it. Two files cannot read it and
repeat it, so this script writes them too:

- jupyter/package.json "version" (the extension's wheel and labextension take
  their version from it through hatch-nodejs-version);
- the extension's dependency on `jpu` in jupyter/pyproject.toml, pinned to the
  releases compatible with this one (same minor while the major is 0, same
  major after).

Only those lines change, so the files keep their layout. tests/test_version.py
checks that the three agree.
"""

import argparse
import re
import sys
from pathlib import Path

VERSION_RE = r"(\d+)\.(\d+)\.(\d+)((?:a|b|rc)\d+|\.dev\d+)?"


def compatible_pin(version):
    major, minor = (int(x) for x in re.fullmatch(VERSION_RE, version).groups()[:2])
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f"jpu>={version},<{upper}"


def replace_one(path, pattern, repl):
    text = path.read_text()
    new, n = re.subn(pattern, repl, text, flags=re.MULTILINE)
    if n != 1:
        raise SystemExit(f"set-version: expected one match of {pattern!r} in {path}, found {n}")
    return new


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("version", help="X.Y.Z, optionally with aN, bN, rcN or .devN")
    ap.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="the repository root (default: this script's)",
    )
    args = ap.parse_args(argv)
    v = args.version
    if not re.fullmatch(VERSION_RE, v):
        print(f"set-version: {v!r} is not X.Y.Z[aN|bN|rcN|.devN]", file=sys.stderr)
        return 2
    package = args.root / "jupyter" / "package.json"
    pyproject = args.root / "jupyter" / "pyproject.toml"
    # compute every change before writing any, so a failure leaves the tree as it was
    changes = {
        args.root / "VERSION": v + "\n",
        package: replace_one(package, r'^(  "version": )"[^"]*"', rf'\g<1>"{v}"'),
        pyproject: replace_one(pyproject, r'^(\s*)"jpu\b[^"]*"', rf'\g<1>"{compatible_pin(v)}"'),
    }
    for path, text in changes.items():
        path.write_text(text)
    print(f"set-version: {v} ({compatible_pin(v)} for the extension)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
