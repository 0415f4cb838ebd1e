#!/bin/sh
# Regenerate tests/data/fio-uring-direct-qd4.json: one real fio run (Debian's fio 3.33)
# that nvmesim can simulate as fio ran it -- io_uring, direct=1, 4k randread, iodepth 4,
# 1 s time-based, on a 64 MiB file -- for tests/test_validate.py.  The figures are of
# whatever disk ran it; the tests check the reading and the comparison, not the figures.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
trap 'rm -f /tmp/nvmesim-validate.dat' EXIT
fio --name=qd4 --filename=/tmp/nvmesim-validate.dat --size=64M --direct=1 --rw=randread --bs=4k \
    --ioengine=io_uring --iodepth=4 --runtime=1 --time_based --output-format=json \
    --output="$here/fio-uring-direct-qd4.json" > /dev/null
