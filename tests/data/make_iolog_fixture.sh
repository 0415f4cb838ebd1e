#!/bin/sh
# Regenerate the real-fio I/O logs used by tests/test_iolog_replay.py (fio-iolog/).
# Needs Debian's fio (3.33; `apt-get install fio`), which writes iolog v3.
#
#   randrw.v3.log    fio's write_iolog of 500 4k randrw I/Os (psync) on one file
#   randrw.v2.log    the same log in format v2: the header's version and each line's
#                    leading timestamp dropped (fio 3.33 writes only v3)
#   paced.v3.log     100 4k randreads with a 2 ms thinktime every 10: a log whose
#                    timestamps, not the device, set the pace
#   twofiles.v3.log  200 16k randreads over two files (file_service_type=roundrobin)
#   replay-*.json    real fio replaying each log (read_iolog) on the same files, its
#                    JSON output: the oracle for the I/O counts, bytes and runtimes
set -eu

here=$(cd "$(dirname "$0")" && pwd)/fio-iolog
mkdir -p "$here"
work=$(mktemp -d)
trap 'rm -rf "$work" /tmp/iolog-a /tmp/iolog-b' EXIT
cd "$work"
rm -f "$here"/*.log "$here"/*.json

fio --name=randrw --filename=/tmp/iolog-a --size=8m --rw=randrw --bs=4k --ioengine=psync \
    --number_ios=500 --write_iolog="$here/randrw.v3.log" > /dev/null
fio --name=paced --filename=/tmp/iolog-a --size=8m --rw=randread --bs=4k --ioengine=psync \
    --number_ios=100 --thinktime=2ms --thinktime_blocks=10 --write_iolog="$here/paced.v3.log" > /dev/null
fio --name=twofiles --filename=/tmp/iolog-a:/tmp/iolog-b --size=16m --rw=randread --bs=16k \
    --ioengine=psync --number_ios=200 --write_iolog="$here/twofiles.v3.log" > /dev/null
{ echo "fio version 2 iolog"; tail -n +2 "$here/randrw.v3.log" | cut -d' ' -f2-; } > "$here/randrw.v2.log"

for log in randrw.v3 randrw.v2 paced.v3 twofiles.v3; do
    fio --name=replay --ioengine=psync --read_iolog="$here/$log.log" --output-format=json \
        --output="$here/replay-$log.json" > /dev/null
done
fio --name=replay --ioengine=psync --read_iolog="$here/paced.v3.log" --replay_no_stall=1 \
    --output-format=json --output="$here/replay-paced.v3-nostall.json" > /dev/null
