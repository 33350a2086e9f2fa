#!/usr/bin/env bash
# The progress line: drawn on stderr when it is a terminal (a pty here),
# with the phase and, while writing, a percentage; erased at the end; never
# drawn with -q or when stderr is not a terminal.
#   HDUMP=build/hdump tests/e2e/progress.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
bin=$(pkl_binary "$1")
command -v python3 >/dev/null || { echo "skip: no python3 for a pty"; exit 77; }

# on_pty OUT ARGS...: runs hdump ARGS with stderr on a pty, what it drew in OUT.
on_pty() {
	local out=$1
	shift
	python3 - "$out" "$HDUMP" "$@" <<'PY'
import os, pty, subprocess, sys
out, argv = sys.argv[1], sys.argv[2:]
master, slave = pty.openpty()
p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
os.close(slave)
data = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:  # EIO: every writer closed the pty
        break
    if not chunk:
        break
    data += chunk
rc = p.wait()
open(out, "wb").write(data)
sys.exit(rc)
PY
}

# Gzip at level 6 on one thread makes the write phase last seconds (level 9
# took 15 s of CPU here for nothing more).
on_pty "$WORK/tty" --exe "$bin" -z --gzip-level 6 --threads 1 -o "$WORK/a.hprof.gz" ||
	fail "dump with stderr on a pty: exit $?"
grep -aq $'\rhdump: writing' "$WORK/tty" && pass "the write phase is shown on a terminal" ||
	fail "no write phase on the terminal: $(od -c "$WORK/tty" | head -5)"
grep -aqE $'\rhdump: writing +[0-9]+%  [0-9.]+ of ~[0-9.]+ MiB  [0-9.]+ MiB/s' "$WORK/tty" &&
	pass "with percentage, bytes and rate" || fail "no percentage: $(tr '\r' '\n' <"$WORK/tty" | tail -3)"
# Erased at the end: after the last carriage return nothing is left on the line.
expect_eq "the line is erased at the end" "$(tail -c 1 "$WORK/tty" | od -An -c | tr -d ' ')" '\r'
expect_eq "only the progress line was written (no newline)" "$(tr -cd '\n' <"$WORK/tty" | wc -c)" 0

# The same dump, which lasts long enough to be drawn (above): silent.
on_pty "$WORK/quiet" --exe "$bin" -q -z --gzip-level 6 --threads 1 -o "$WORK/b.hprof.gz" ||
	fail "-q dump on a pty: exit $?"
expect_eq "-q: nothing on the terminal" "$(wc -c <"$WORK/quiet")" 0

"$HDUMP" --exe "$bin" -z --gzip-level 6 --threads 1 -o "$WORK/c.hprof.gz" 2>"$WORK/notty" ||
	fail "dump with stderr in a file: exit $?"
expect_eq "stderr not a terminal: no progress" "$(wc -c <"$WORK/notty")" 0
finish
