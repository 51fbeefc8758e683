#!/bin/sh
# One bounded libFuzzer run (suite fuzzrun): TARGET SECONDS NEW-CORPUS SEED
# New inputs go to NEW-CORPUS (in the build tree), a crash's input to
# NEW-CORPUS/../crash-*; libFuzzer exits non-zero on any finding.
set -eu
target=$1 seconds=$2 new=$3 seed=$4
mkdir -p "$new"
exec "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$(dirname "$new")/$(basename "$target")-" "$new" "$seed"
