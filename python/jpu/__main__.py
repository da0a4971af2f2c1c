"""python -m jpu: print samples as JSON lines (like `jpu --json`), for quick checks."""

import argparse
import json
import sys

from . import Engine


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m jpu")
    p.add_argument("--scope", default="system")
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--sysfs")
    p.add_argument("--procfs")
    a = p.parse_args(argv)
    with Engine(scope=a.scope, interval=a.interval, sysfs=a.sysfs, procfs=a.procfs) as eng:
        eng.start()
        seq = 0
        for _ in range(a.count):
            seq = eng.wait(seq, timeout=a.interval * 3 + 1)
            if seq is None:
                print("jpu: no sample within the interval", file=sys.stderr)
                return 1
            print(json.dumps(eng.snapshot()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
