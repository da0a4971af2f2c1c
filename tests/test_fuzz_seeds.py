# SPDX-License-Identifier: BSD-3-Clause
"""The fuzz targets' seed corpora and dictionaries, checked without clang.

Every target named in tests/fuzz/meson.build must have a seed corpus
tests/fuzz/seeds/<target>/ with at least one readable file (links into the
fixtures must not dangle), and every dictionary tests/fuzz/dicts/*.dict must
belong to a target and hold only lines libFuzzer's -dict= accepts: comments,
blanks and `[name=]"token"` with \\\\, \\" and \\xNN escapes.
"""

import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
FUZZ = os.path.join(HERE, "fuzz")


def targets():
    with open(os.path.join(FUZZ, "meson.build"), encoding="utf-8") as f:
        text = f.read()
    block = re.search(r"fuzz_targets\s*=\s*\[(.*?)\]", text, re.S)
    assert block, "fuzz_targets list not found in tests/fuzz/meson.build"
    names = re.findall(r"'(fuzz_[a-z0-9_]+)'", block.group(1))
    assert names
    return names


def test_every_target_has_seeds():
    missing, dangling = [], []
    for t in targets():
        d = os.path.join(FUZZ, "seeds", t)
        files = []
        for root, _dirs, names in os.walk(d, followlinks=True):
            for n in names:
                p = os.path.join(root, n)
                if os.path.islink(p) and not os.path.exists(p):
                    dangling.append(os.path.relpath(p, HERE))
                elif os.path.isfile(p) and os.path.getsize(p) > 0:
                    files.append(p)
        if not files:
            missing.append(t)
    assert not dangling, f"seed links that point nowhere: {dangling}"
    assert not missing, f"fuzz targets without a seed corpus in tests/fuzz/seeds/: {missing}"


TOKEN = re.compile(r'^(?:[A-Za-z0-9_]+=)?"(?:[^"\\]|\\\\|\\"|\\x[0-9A-Fa-f]{2})+"$')


def test_dictionaries_parse_and_belong_to_a_target():
    d = os.path.join(FUZZ, "dicts")
    names = sorted(os.listdir(d))
    assert names, "no dictionaries in tests/fuzz/dicts"
    known = set(targets())
    for n in names:
        assert n.endswith(".dict") and n[: -len(".dict")] in known, f"{n}: not a target's"
        with open(os.path.join(d, n), encoding="utf-8") as f:
            for i, line in enumerate(f, 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                assert TOKEN.match(line), f"{n}:{i}: not a libFuzzer token: {line}"
    # the carbon parsers are JSON: their dictionaries carry the field names
    with open(os.path.join(d, "fuzz_carbon_emaps.dict"), encoding="utf-8") as f:
        emaps = f.read()
    assert '"\\"carbonIntensity\\""' in emaps and '"\\"temporalGranularity\\""' in emaps
