"""Deterministic per-I/O cost: valgrind's instruction count per simulated I/O.

    python benchmarks/callgrind_per_io.py TREE CONFIG RT1 RT2

runs one legacy replication of CONFIG (a path relative to TREE, a checkout of nvmesim)
for RT1 and for RT2 simulated seconds under ``valgrind --tool=callgrind`` and prints
(instructions(RT2) - instructions(RT1)) / (I/Os(RT2) - I/Os(RT1)): the start-up cancels.
Comparing two trees on one config gives a ratio that the machine's load cannot move.
Threads that spin (OpenBLAS) and hash seeds are pinned, ASLR is off: the count repeats
to the instruction.  Needs valgrind and setarch (Debian: valgrind, util-linux).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from nvmesim.config import load
from nvmesim.sim.model import run_replication
cfg = load(sys.argv[1] + "/" + sys.argv[2], {"workload.runtime": float(sys.argv[3]), "workload.ramp_time": 0.001})
print("IOS", run_replication(cfg, "legacy", 0).ios_simulated)
"""


def count(tree: str, config: str, runtime: str) -> tuple[int, int]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONHASHSEED": "0"}
    out = subprocess.run(["setarch", "-R", "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                          sys.executable, "-c", CHILD, tree, config, runtime],
                         capture_output=True, text=True, env=env, check=True)
    ios = int(re.search(r"^IOS (\d+)", out.stdout, re.M).group(1))
    instr = int(re.search(r"Collected : (\d+)", out.stderr).group(1))
    return ios, instr


def main() -> None:
    tree, config, rt1, rt2 = sys.argv[1:5]
    i1, c1 = count(tree, config, rt1)
    i2, c2 = count(tree, config, rt2)
    print(f"{tree} {config}: {(c2 - c1) // (i2 - i1)} instructions per I/O ({i1} -> {i2} I/Os)")


if __name__ == "__main__":
    main()
