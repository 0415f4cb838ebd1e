#!/bin/sh
# Regenerate the real-fio fixtures used by tests/test_stats.py and
# tests/test_fiojson.py.  Needs Debian's fio (3.33; `apt-get install fio`).
#
# One fio run, one json+ document, four jobs on a 16 MiB file:
#   fixture  time-based 4k randread (psync), as a typical job; clat and lat
#            percentiles and bins.
#   edge     exactly 200 I/Os with percentiles whose threshold p/100*N is
#            an integer and for which the three ways fio's threshold could
#            be evaluated (double, long double, x87 fast-math; see
#            nvmesim.stats.percentile_threshold) need different I/O counts.
#            Its per-I/O clat/lat logs are kept so the tests can replay them.
#   grp      numjobs=2, group_reporting, 150 I/Os each (N=300 together),
#            percentiles chosen the same way for N=300, with per-I/O logs:
#            checks LatencyHist.merge against fio's own group summation.
# The tests assert that edge/grp really discriminate between the models
# (neighbouring I/Os must fall in different buckets); if a regenerated
# fixture does not, just run this script again.
# Latency logs (one line per I/O, value in ns) go to fio-lat-logs/.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out="$here/fio-jsonplus-randread.json"
logdir="$here/fio-lat-logs"
work=$(mktemp -d)
trap 'rm -rf "$work" /tmp/fio-fixture.dat' EXIT

cd "$work"
fio --output-format=json+ --output="$work/fio.json" \
    --filename=/tmp/fio-fixture.dat --size=16m --bs=4k --rw=randread \
    --ioengine=psync --lat_percentiles=1 \
    --name=fixture --runtime=2 --time_based \
        --percentile_list=1:5:10:50:90:99:99.9:99.99 \
    --name=edge --number_ios=200 \
        --percentile_list=3.5:7:7.5:13.5:14:15:27:27.5:28:30:50:53.5:54:54.5:55:55.5:56:59.5:60:99 \
        --write_lat_log=edge \
    --name=grp --new_group --numjobs=2 --group_reporting=1 --number_ios=150 \
        --percentile_list=7:9:14:17:18:28:33:34:36:50:56:66:68:72:81:99 \
        --write_lat_log=grp \
    > /dev/null

mkdir -p "$logdir"
rm -f "$logdir"/*.log
for f in edge_clat.*.log edge_lat.*.log grp_clat.*.log grp_lat.*.log; do
    cp "$f" "$logdir/"
done
cp "$work/fio.json" "$out"
ls -l "$out" "$logdir"
