# SPDX-License-Identifier: BSD-3-Clause
"""One recipe for read access to the root-only energy counters.

The udev rule ships as data/90-jpu-powercap.rules; its group, its file name
and the documentation section are defined once in include/jpu/jpu.h
(JPU_POWERCAP_GROUP, JPU_UDEV_RULE, JPU_PERMISSIONS_DOC). Every place that
talks about the recipe uses those, and no other group or rule appears.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def header_macro(name):
    text = (ROOT / "include" / "jpu" / "jpu.h").read_text(encoding="utf-8")
    m = re.search(r"#define\s+" + name + r'\s+"([^"]+)"', text)
    assert m, f"{name} not defined in include/jpu/jpu.h"
    return m.group(1)


def test_rule_file_uses_the_one_group():
    rule, group = header_macro("JPU_UDEV_RULE"), header_macro("JPU_POWERCAP_GROUP")
    path = ROOT / "data" / rule
    assert path.is_file(), f"data/{rule} missing"
    rules = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert any('SUBSYSTEM=="powercap"' in line for line in rules)
    for line in rules:
        assert re.search(r'ACTION=="add"', line), line
        groups = set(re.findall(r"chgrp (\S+)", line))
        assert groups == {group}, line
        # group read only: the counters must never become world-readable
        assert "o+r" not in line and "a+r" not in line and "0444" not in line, line


def test_every_mention_points_to_the_rule_group_and_section():
    rule, group = header_macro("JPU_UDEV_RULE"), header_macro("JPU_POWERCAP_GROUP")
    texts = {
        p: (ROOT / p).read_text(encoding="utf-8")
        for p in (
            "README.md",
            "docs/jpu.1.md",
            "cli/jpu.c",
            "lib/sensors/rapl.c",
            "lib/sensors/hwmon.c",
        )
    }
    for p, t in texts.items():
        # no second recipe: a rule written out inline, or another group
        assert "SUBSYSTEM==" not in t, f"{p}: a udev rule written out instead of data/{rule}"
        for g in re.findall(r"chgrp (\w+)", t):
            assert g == group, f"{p}: group {g}, not {group}"
    for p in ("cli/jpu.c", "lib/sensors/rapl.c", "lib/sensors/hwmon.c"):
        t = texts[p]
        for macro in ("JPU_UDEV_RULE", "JPU_POWERCAP_GROUP", "JPU_PERMISSIONS_DOC"):
            assert macro in t, f"{p}: its permission message does not use {macro}"
    doc = texts["docs/jpu.1.md"]
    assert "## PERMISSIONS" in doc and rule in doc and f"groupadd --system {group}" in doc
    assert "docs/jpu.1.md#permissions" in texts["README.md"]
