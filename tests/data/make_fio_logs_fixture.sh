#!/bin/sh
# Regenerate the real-fio logs used by tests/test_fio_logs.py (the layout nvmesim's
# logs must have).  Needs Debian's fio (3.33; `apt-get install fio`) and a file system
# that takes O_DIRECT.  Two jobs on a 16 MiB file, libaio, direct:
#   perio  randrw, iodepth 4, exactly 128 I/Os with a 100 us thinktime each (so that it
#          lasts more than a few ms), every log per I/O (log_avg_msec=0) and the clat
#          histogram log every 5 ms (log_hist_msec=5, 1856 bins).
#   avg    randread, 300 ms, every log averaged over 50 ms windows (log_avg_msec=50),
#          the histogram log merged in groups of 4 bins (log_hist_coarseness=2).
#   ramp   randread, 100 ms after a 100 ms ramp_time, a 1 ms thinktime per I/O: what
#          fio logs around the ramp (per-I/O lat logs).
# fio's json (fio.json) is kept beside the logs, to relate their counts to fio's.
# Usage: make_fio_logs_fixture.sh [OUTDIR]  (default tests/data/fio-logs-3.33; the
# tests run it live into a temporary directory when fio is installed).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out="${1:-$here/fio-logs-3.33}"
work=$(mktemp -d)
dat="$work/fio-logs-fixture.dat"
trap 'rm -rf "$work"' EXIT

cd "$work"
fio --output-format=json --output="$work/fio.json" \
    --filename="$dat" --size=16m --bs=4k --ioengine=libaio --direct=1 \
    --name=perio --rw=randrw --iodepth=4 --number_ios=128 --thinktime=100 \
        --write_lat_log=perio --write_bw_log=perio --write_iops_log=perio \
        --write_hist_log=perio --log_hist_msec=5 \
    --name=avg --rw=randread --iodepth=1 --runtime=300ms --time_based --log_avg_msec=50 \
        --write_lat_log=avg --write_bw_log=avg --write_iops_log=avg \
        --write_hist_log=avg --log_hist_msec=50 --log_hist_coarseness=2 \
    --name=ramp --rw=randread --iodepth=1 --ramp_time=100ms --runtime=100ms --time_based --thinktime=1000 \
        --write_lat_log=ramp \
    > /dev/null

mkdir -p "$out"
rm -f "$out"/*.log "$out"/fio.json
cp ./*.log "$work/fio.json" "$out/"
