"""Kill rates per module from the last `mutmut run` (see tests/README.md).

    python tests/mutation_report.py            # after `mutmut run --max-children 2`

Killed = killed + timeout (a mutant that hangs is caught); the rate counts every mutant,
"no tests" and survivors alike. The torch builders (`torch_*`) are counted like the rest:
they return TorchModule descriptions (plain data), so the fast selection tests them without torch.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict

NAME = re.compile(r"^\s*(?P<module>[\w.]+)\.x[_ǁ](?P<func>.+?)__mutmut_\d+: (?P<status>.+)$")


def main() -> int:
    out = subprocess.run(["mutmut", "results", "--all", "true"], capture_output=True, text=True, check=True).stdout
    counts: dict[str, Counter] = defaultdict(Counter)
    for line in out.splitlines():
        m = NAME.match(line)
        if m:
            status = "killed" if m["status"] in ("killed", "timeout") else m["status"]
            counts[m["module"]][status] += 1
    print(f"{'module':32} {'killed':>7} {'survived':>9} {'no tests':>9} {'other':>6} {'rate':>7}")
    for module, c in sorted(counts.items()):
        total = sum(c.values())
        other = total - c["killed"] - c["survived"] - c["no tests"]
        print(f"{module:32} {c['killed']:7} {c['survived']:9} {c['no tests']:9} {other:6} "
              f"{100 * c['killed'] / total:6.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
