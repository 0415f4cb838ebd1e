#!/bin/sh
# Regenerate tests/data/fio-terse-json.txt, used by tests/test_output_formats.py.
# Needs Debian's fio (3.33; `apt-get install fio`).
#
# One fio run printing both terse (version 3, fio's default) and json+, so the terse
# line's fields can be checked against the JSON of the same run: a 1 s time-based
# 4k randrw (70% reads, psync) on a 16 MiB file; --disk_util=0 so the line has no
# disk utilisation fields (nvmesim's documents have none either).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
trap 'rm -f /tmp/fio-terse-fixture.dat' EXIT
fio --output-format=terse,json+ --output="$here/fio-terse-json.txt" --disk_util=0 \
    --name=mixed --filename=/tmp/fio-terse-fixture.dat --size=16m --bs=4k --rw=randrw \
    --rwmixread=70 --ioengine=psync --runtime=1 --time_based

# The v3 field names, as fio's HOWTO ("Terse output") lists them, one line.
zcat /usr/share/doc/fio/HOWTO.rst.gz | sed -n 's/^ *\(terse_version_3;.*\)$/\1/p' > "$here/fio-terse-v3-fields.txt"
