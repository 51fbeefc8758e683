#!/bin/sh
# Transcoding benchmark (issue #4), side by side in one run: one 1080p30
# H.264 + AAC publish goes to mirroring, which relays it
#   - through profile 720p30 (libx264 veryfast 3000k, keyint 2 s, AAC 128k
#     48 kHz stereo) in its own worker, to sink A, and
#   - with copy to an `ffmpeg -listen 1 -i rtmp://... <same settings> -f flv
#     rtmp://...` transcoder, to sink B.
# Both sinks are `ffmpeg -listen 1 ... -c copy -f null`.  The CPU seconds
# (utime + stime from /proc) and peak RSS (VmHWM) of the worker and of the
# ffmpeg CLI are sampled every 0.2 s until they exit, and printed per
# stream-minute, with both outputs' ffprobe figures.
#
#   bench/xcode.sh [BUILD_DIR] [SECONDS] [MODE]   (defaults: build 30 both)
# KEEP=1 keeps the temporary folder (media, outputs, the supervisor log).
# MODE both runs the two side by side on one publish (the issue's setup);
# apart runs them one after the other on two publishes of the same media,
# for a machine that cannot do two 1080p transcodes at once in real time
# (both then drop or lag, and the figures stop being comparable).
set -eu

BUILD=${1:-build}
SECS=${2:-30}
MODE=${3:-both}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MIRRORING=$ROOT/$BUILD/supervisor/mirroring
export MIRRORING_WORKER="$ROOT/$BUILD/worker/mirroring-worker"
[ -x "$MIRRORING" ] && [ -x "$MIRRORING_WORKER" ] || {
	echo "xcode.sh: build first (meson setup $BUILD && ninja -C $BUILD)" >&2
	exit 1
}
DIR=$(mktemp -d /tmp/mirroring-bench-xcode.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ -n "${KEEP:-}" ]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT INT TERM

port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() {	# port, seconds: listening (/proc/net/tcp, without connecting:
		# ffmpeg -listen 1 takes one connection only)
	i=0
	h=$(printf ':%04X' "$1")
	while ! awk -v h="$h" '$2 ~ h"$" && $4 == "0A" { f = 1 } END { exit !f }' \
	    /proc/net/tcp; do
		i=$((i + 1))
		[ $i -lt $(($2 * 10)) ] || { echo "xcode.sh: nothing on port $1" >&2; exit 1; }
		sleep 0.1
	done
}
# "ticks vmhwm_kib" of a live pid, nothing once it is gone
sample() {
	[ -r /proc/$1/stat ] || return 0
	t=$(awk '{ print $14 + $15 }' /proc/$1/stat 2>/dev/null) || return 0
	m=$(awk '/^VmHWM:/ { print $2 }' /proc/$1/status 2>/dev/null) || return 0
	[ -n "$t" ] && [ -n "$m" ] && echo "$t $m"
}

# run XCODE_ENABLED CLI_ENABLED: one publish; sets W, F, S ("ticks kib")
run() {
	PUB=$(port); SA=$(port); SB=$(port); FF=$(port)
	KEY=bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	FFSET="-c:v libx264 -preset veryfast -b:v 3000k -maxrate 3000k -bufsize 6000k -s 1280x720 -r 30 -g 60 -keyint_min 60 -sc_threshold 0 -pix_fmt yuv420p -c:a aac -b:a 128k -ar 48000 -ac 2"

	cat > "$DIR/bench.yaml" <<-EOF
	listen: 127.0.0.1:$PUB
	state_dir: $DIR/var
	log: { level: info }
	profiles:
	  720p30:
	    video: { codec: libx264, width: 1280, height: 720, fps: 30,
	             bitrate: 3000k, maxrate: 3000k, bufsize: 6000k,
	             preset: veryfast, keyint: 2s, pix_fmt: yuv420p }
	    audio: { codec: aac, bitrate: 128k, sample_rate: 48000, channels: 2 }
	streams:
	  bench:
	    key: $KEY
	    relays:
	      xcode: { url: "rtmp://127.0.0.1:$SA/live/a", profile: 720p30,
	               enabled: $1 }
	      cli:   { url: "rtmp://127.0.0.1:$FF/live/in", enabled: $2 }
	EOF

	ffmpeg -nostdin -hide_banner -v error -listen 1 -i "rtmp://127.0.0.1:$SA/live/a" \
	    -c copy -f flv -y "$DIR/a.flv" & SINKS="$!"
	ffmpeg -nostdin -hide_banner -v error -listen 1 -i "rtmp://127.0.0.1:$SB/live/b" \
	    -c copy -f flv -y "$DIR/b.flv" & SINKS="$SINKS $!"; PIDS="$PIDS $SINKS"
	wait_port "$SA" 10; wait_port "$SB" 10
	# shellcheck disable=SC2086
	ffmpeg -nostdin -hide_banner -v error -listen 1 -i "rtmp://127.0.0.1:$FF/live/in" \
	    $FFSET -f flv "rtmp://127.0.0.1:$SB/live/b" & FFPID=$!; PIDS="$PIDS $FFPID"
	wait_port "$FF" 10
	"$MIRRORING" run -c "$DIR/bench.yaml" 2> "$DIR/log" & SUP=$!; PIDS="$PIDS $SUP"
	[ "$2" = true ] || { kill "$FFPID"; FFPID=""; }
	wait_port "$PUB" 10
	ffmpeg -nostdin -hide_banner -v error -re -i "$DIR/src.flv" -c copy -f flv \
	    "rtmp://127.0.0.1:$PUB/live/$KEY" & PUBPID=$!; PIDS="$PIDS $PUBPID"

	WPID=""
	i=0
	while [ "$1" = true ] && [ -z "$WPID" ]; do
		WPID=$(sed -n 's/.*event=relay.spawned stream=bench relay=xcode worker_pid=\([0-9]*\).*/\1/p' "$DIR/log" | head -1)
		i=$((i + 1)); [ $i -lt 100 ] || { echo "xcode.sh: no worker" >&2; exit 1; }
		sleep 0.1
	done
	W="0 0"; F="0 0"; S="0 0"
	while { [ -n "$WPID" ] && [ -r /proc/$WPID/stat ]; } ||
	    { [ -n "$FFPID" ] && [ -r /proc/$FFPID/stat ]; }; do
		[ -z "$WPID" ] || { x=$(sample "$WPID"); [ -z "$x" ] || W=$x; }
		[ -z "$FFPID" ] || { x=$(sample "$FFPID"); [ -z "$x" ] || F=$x; }
		x=$(sample "$SUP"); [ -z "$x" ] || S=$x
		sleep 0.2
	done
	wait "$PUBPID" || true
	kill "$SUP" 2>/dev/null || true
	wait "$SUP" 2>/dev/null || true
	i=0	# a sink that got a stream ends with it: let it finish writing
	while [ $i -lt 50 ]; do
		alive=0
		for p in $SINKS; do
			! kill -0 "$p" 2>/dev/null || alive=1
		done
		[ $alive = 1 ] && [ -s "$DIR/a.flv" -o -s "$DIR/b.flv" ] || break
		i=$((i + 1)); sleep 0.1
	done
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	sleep 1
	PIDS=""
}

echo "making ${SECS} s of 1080p30 source media..."
ffmpeg -nostdin -hide_banner -v error -y -f lavfi \
    -i "testsrc2=size=1920x1080:rate=30" -f lavfi \
    -i "sine=frequency=440:sample_rate=48000" -t "$SECS" -c:v libx264 \
    -preset ultrafast -g 60 -pix_fmt yuv420p -c:a aac -b:a 128k -ac 2 \
    -shortest -f flv "$DIR/src.flv"
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
case $MODE in
both)	run true true ;;
apart)	run true false; W0=$W; S0=$S; mv "$DIR/log" "$DIR/log.xcode"
	run false true; W=$W0; S=$S0; mv "$DIR/log.xcode" "$DIR/log" ;;
*)	echo "xcode.sh: MODE is both or apart" >&2; exit 2 ;;
esac

HZ=$(getconf CLK_TCK)
probe() {
	ffprobe -v error -select_streams v:0 -count_packets -show_entries \
	    stream=width,height,avg_frame_rate,nb_read_packets:format=duration,bit_rate \
	    -of compact=p=0:nk=0 "$1" | tr '\n' ' '
}
echo
echo "source: ${SECS} s 1080p30 (libx264 ultrafast) + AAC; nproc $(nproc);" \
    "mode $MODE; load before: $LOAD"
echo "profile: 1280x720 30 fps libx264 veryfast 3000k keyint 2 s, AAC 128k 48 kHz"
echo
printf '%-26s %12s %14s %12s\n' "" "CPU s" "CPU s/stream-min" "peak RSS MiB"
row() {	# label "ticks kib"
	set -- "$1" $2
	awk -v l="$1" -v t="$2" -v m="$3" -v hz="$HZ" -v s="$SECS" 'BEGIN {
		printf "%-26s %12.2f %14.2f %12.1f\n", l, t / hz, t / hz * 60 / s,
		    m / 1024 }'
}
row "mirroring worker" "$W"
row "ffmpeg CLI" "$F"
row "(supervisor, both relays)" "$S"
set -- $W; WT=$1
set -- $F; FT=$1
[ "$FT" -gt 0 ] && awk -v a="$WT" -v b="$FT" \
    'BEGIN { printf "worker / ffmpeg CPU: %.2f\n", a / b }'
echo
echo "mirroring: $(probe "$DIR/a.flv")"
echo "ffmpeg:    $(probe "$DIR/b.flv")"
grep -o 'event=relay.xcode_done.*' "$DIR/log" | head -1
grep -o 'event=relay.xcode_behind.*' "$DIR/log" | head -1 || true
