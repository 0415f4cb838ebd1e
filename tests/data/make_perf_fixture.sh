#!/bin/sh
# Regenerate the real `perf report --stdio` fixtures used by tests/test_perf_output.py.
# Needs Debian's linux-perf (perf 6.1 made these) and permission to sample
# (root, or kernel.perf_event_paranoid <= 1).
#
# One recording of a syscall-bound command (dd copying /dev/zero to /dev/null: kernel
# chains under a user-space caller), sampled the way nvmesim's profile is reported:
# the cpu-clock software event (its period is in ns), perf record's default 4000 Hz,
# with call chains (-g).  Both of perf report's views are kept, without the call-graph
# trees under each entry (-g none), the table nvmesim's perf_report renders:
#   children.txt   perf report --stdio -g none              (Children + Self, the default)
#   self.txt       perf report --stdio -g none --no-children (Overhead)
set -eu

here=$(cd "$(dirname "$0")" && pwd)/perf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

perf record -q -e cpu-clock -F 4000 -g -o "$work/perf.data" -- \
    dd if=/dev/zero of=/dev/null bs=4k count=400000 2>/dev/null
perf report -i "$work/perf.data" --stdio -g none > "$here/children.txt" 2>/dev/null
perf report -i "$work/perf.data" --stdio -g none --no-children > "$here/self.txt" 2>/dev/null
perf --version > "$here/perf-version.txt"
