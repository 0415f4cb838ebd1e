#!/bin/sh
# Regenerate the real-fio fixtures of tests/test_normal_output.py.  Needs Debian's fio
# (3.33; `apt-get install fio`) and a file system that takes O_DIRECT (not tmpfs).
#
# Every job is libaio, an engine nvmesim simulates (so its layout, slat included, is one
# nvmesim can print).  Each fixture is one fio run with --output-format=normal,json+ into one file: fio's job
# header lines, then the json+ document (the raw figures), then the normal output
# (stat.c: show_thread_status_normal, show_group_stats, the disk stats).  The tests
# render the json+ figures with nvmesim's normal-output code and compare the text with
# fio's, line for line, and compare the layout of a simulated run with fio's.
#
#   read     libaio buffered sequential read: nsec latencies, MiB/s samples
#   randrw   libaio direct randrw 70/30, iodepth 8: read and write blocks, slat
#   noperc   libaio direct 128k randread, clat_percentiles=0: no percentile block
#   allperc  libaio direct randread iodepth 16, slat/clat/lat percentiles of 50:99:99.9
#   mixed    libaio direct randrw, numjobs=2 group_reporting, unified_rw_reporting=both
#   unified  libaio direct randrw, unified_rw_reporting=mixed: one "mixed" direction
#   groups   two groups: numjobs=2 without group_reporting, then a job in a new group
set -eu

here=$(cd "$(dirname "$0")" && pwd)
dat=${FIO_FIXTURE_FILE:-/var/tmp/nvmesim-normal-fixture.dat}
trap 'rm -f "$dat"' EXIT

run() {
    name=$1
    shift
    fio --output-format=normal,json+ --output="$here/fio-normal-$name.txt" \
        --filename="$dat" --size=16m --runtime=2 --time_based "$@" > /dev/null
}

run read --name=read --rw=read --bs=4k --ioengine=libaio
run randrw --name=randrw --rw=randrw --rwmixread=70 --bs=4k --ioengine=libaio --direct=1 --iodepth=8
run noperc --name=noperc --rw=randread --bs=128k --ioengine=libaio --direct=1 --iodepth=4 \
    --clat_percentiles=0
run allperc --name=allperc --rw=randread --bs=4k --ioengine=libaio --direct=1 --iodepth=16 \
    --slat_percentiles=1 --lat_percentiles=1 --percentile_list=50:99:99.9
run mixed --name=mixed --rw=randrw --bs=4k --ioengine=libaio --direct=1 --numjobs=2 \
    --group_reporting=1 --unified_rw_reporting=both
run unified --name=unified --rw=randrw --bs=4k --ioengine=libaio --direct=1 --iodepth=4 \
    --unified_rw_reporting=mixed
run groups --rw=randread --bs=4k --ioengine=libaio --direct=1 \
    --name=g0 --numjobs=2 \
    --name=g1 --new_group --rw=randwrite
ls -l "$here"/fio-normal-*.txt
