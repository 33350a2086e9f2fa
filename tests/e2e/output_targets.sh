#!/usr/bin/env bash
# Where a dump may go: a character device or a FIFO gets the stream in place
# (like -o -), a regular file is replaced only with --force, and nothing else
# is ever replaced.  Also: the installed binary has no test fault hooks.
#   HDUMP=build/hdump HDUMP_FAULTS=build/tests/hdump-faults tests/e2e/output_targets.sh PKL_VERSION
. "$(dirname "$0")/lib.sh"
bin=$(pkl_binary "$1")
cd "$WORK"

# The HPROF header's timestamp (bytes 24..31) differs from run to run.
body() { tail -c +32 "$1" | sha256sum | cut -d' ' -f1; }

"$HDUMP" --exe "$bin" --threads 1 -o file.hprof || fail "dump to a file: exit $?"
want=$(body file.hprof)

rc=0
"$HDUMP" --exe "$bin" --threads 1 -o /dev/null 2>err || rc=$?
expect_eq "-o /dev/null without --force: exit code" "$rc" 0
[ -c /dev/null ] && pass "/dev/null is still a character device" || fail "/dev/null replaced"
[ -z "$(ls -A /dev | grep -F '.null.hdump-')" ] && pass "no temp file beside /dev/null" ||
	fail "temp file left in /dev"

mkfifo pipe
cat pipe >from-fifo.hprof &
reader=$!
rc=0
"$HDUMP" --exe "$bin" --threads 1 -o pipe 2>err || rc=$?
wait "$reader"
expect_eq "-o FIFO: exit code" "$rc" 0
expect_eq "-o FIFO: the reader got the dump" "$(body from-fifo.hprof)" "$want"
[ -p pipe ] && pass "the FIFO is still a FIFO" || fail "the FIFO was replaced"

# A FIFO nobody reads, or whose reader stalls, holds hdump in open or write;
# SIGTERM still ends it (exit 14).
in_syscall() { [ "$(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null)" = "$2" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }
term_while_blocked() {
	local name=$1 nr=$2 dumper rc=0
	"$HDUMP" --exe "$bin" -o pipe 2>err &
	dumper=$!
	wait_for 120 in_syscall "$dumper" "$nr" || fail "$name: hdump never blocked in syscall $nr"
	kill -TERM "$dumper"
	if wait_for 30 gone "$dumper"; then
		wait "$dumper" || rc=$?
		expect_eq "$name: SIGTERM ends hdump (exit code)" "$rc" 14
	else
		fail "$name: hdump ignored SIGTERM"
		kill -KILL "$dumper"
		wait "$dumper" || true
	fi
}
term_while_blocked "FIFO without a reader" 257 # openat
exec 3<>pipe # a reader that never reads (read-write: the open cannot block)
term_while_blocked "FIFO whose reader stalls" 1 # write
exec 3<&-
[ -p pipe ] && pass "the FIFO is still a FIFO after the signals" || fail "the FIFO was replaced"

# expect_refused NAME CODE PATH [--force]: exit CODE, PATH left as it was.
expect_refused() {
	local name=$1 code=$2 path=$3 before rc=0
	shift 3
	before=$(stat -c '%F %i' "$path")
	"$HDUMP" --exe "$bin" -o "$path" "$@" 2>err || rc=$?
	expect_eq "$name: exit code" "$rc" "$code"
	expect_eq "$name: one-line message" "$(wc -l <err)" 1
	expect_eq "$name: left as it was" "$(stat -c '%F %i' "$path")" "$before"
}
mkdir dir
expect_refused "a directory, --force" 9 dir --force
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' sock
expect_refused "a socket, --force" 9 sock --force
echo keep >victim
ln -s victim link
expect_refused "a symlink" 9 link
expect_refused "a symlink, --force" 9 link --force
expect_eq "the symlink's target is untouched" "$(cat victim)" keep
expect_refused "a regular file" 8 victim
rc=0
"$HDUMP" --exe "$bin" --threads 1 -o victim --force 2>err || rc=$?
expect_eq "a regular file, --force: exit code" "$rc" 0
expect_eq "a regular file, --force: replaced by the dump" "$(body victim)" "$want"
[ -z "$(ls -A | grep '\.tmp$')" ] && pass "no temporary file left" || fail "left: $(ls -A)"

# The file is synced only with --sync: then the file under its temporary
# name, and its directory after the rename (the new name is what must last).
if command -v strace >/dev/null; then
	# trace NAME ARGS...: hdump's fsync and rename calls, fds as paths, into NAME.
	trace() {
		local name=$1
		shift
		strace -f -y -e trace=fsync,fdatasync,rename,renameat2 -o "$name" \
			"$HDUMP" --exe "$bin" --threads 1 --no-cache "$@" || fail "$name: exit $?"
	}
	trace plain.trace -o plain.hprof
	expect_eq "default: no fsync" "$(grep -c 'sync(' plain.trace)" 0
	trace synced.trace -o synced.hprof --sync
	calls=$(grep -oE 'fsync\([0-9]+<[^>]*>|rename[a-z0-9]*\(' synced.trace |
		sed -E 's/\([0-9]*</ /; s/>$//; s/hdump-[0-9]+\.tmp/hdump-PID.tmp/')
	expect_eq "--sync: the file, the rename, the directory" "$(echo $calls)" \
		"fsync $PWD/.synced.hprof.hdump-PID.tmp renameat2( fsync $PWD"
	expect_eq "--sync: the same dump" "$(body synced.hprof)" "$want"
	trace gz.trace -o synced.hprof.gz --sync
	expect_eq "--sync, gzip: two fsyncs" "$(grep -c 'fsync(' gz.trace)" 2
else
	echo "# no strace: the syncs are not traced"
fi

# A full ext4 (an image on a loop device, mounted in a mount namespace of
# its own): the dump goes through the page cache and nothing waits for the
# device there, so a full disk must fail the write itself (delayed
# allocation reserves the blocks as the cache takes the bytes): exit 10,
# one line, no file left.  On a file system with room, the same dump whole.
# in_ext4 MIB NAME: a dump to NAME on a fresh ext4 of MIB MiB; prints its
# exit code, then what the file system holds.
in_ext4() {
	rm -f ext4.img && truncate -s "${1}M" ext4.img && mkfs.ext4 -q -F ext4.img
	unshare -m sh -c 'mount -o loop "$1" "$2" || exit 1
		"$3" --exe "$4" --threads 1 -o "$2/$5" 2>err; echo "rc=$?"
		ls -A "$2" | grep -v "^lost+found$"; cp "$2/$5" . 2>/dev/null; umount "$2"' \
		sh ext4.img "$PWD/fs" "$HDUMP" "$bin" "$2"
}
ext4_mounts() {
	truncate -s 8M ext4.img && mkfs.ext4 -q -F ext4.img &&
		unshare -m sh -c 'mount -o loop "$1" "$2" && umount "$2"' sh ext4.img "$PWD/fs"
}
mkdir fs
if command -v mkfs.ext4 >/dev/null && ext4_mounts 2>/dev/null; then
	size_mib=$(( $(stat -c %s file.hprof) >> 20 ))
	in_ext4 $((size_mib / 2)) full.hprof >full.out
	expect_eq "a full ext4: exit code" "$(sed -n 's/^rc=//p' full.out)" 10
	expect_eq "a full ext4: one-line message" "$(wc -l <err)" 1
	grep -q 'No space left' err && pass "a full ext4: says so" || fail "a full ext4: $(cat err)"
	expect_eq "a full ext4: nothing left" "$(grep -vc '^rc=' full.out)" 0
	in_ext4 $((size_mib * 2 + 16)) roomy.hprof >roomy.out
	expect_eq "an ext4 with room: exit code" "$(sed -n 's/^rc=//p' roomy.out)" 0
	expect_eq "an ext4 with room: the same dump" "$(body roomy.hprof)" "$want"
	rm -f ext4.img roomy.hprof
else
	echo "ok - a full ext4: skipped (no mkfs.ext4, mount namespace or loop device here)"
fi

# In a memory cgroup of 256 MB (v1, or v2 where the root delegates memory),
# the cache budget is a tenth of the room left, far below the 55 MB dump:
# its first blocks go through the cache, the rest around it with O_DIRECT
# (the flag set again after the first write cleared it), and the file is
# the same dump.  Outside, the flag is set once, when the file is opened,
# and cleared for good by the first write.
if command -v strace >/dev/null && cg_dir=$(new_memory_cgroup $((256 << 20))); then
	cleanup_hooks+=("rmdir '$cg_dir'")
	# direct_sets TRACE: the F_SETFL calls that set O_DIRECT
	direct_sets() { grep -c 'F_SETFL, [A-Z_|]*O_DIRECT' "$1" || true; }
	rc=0
	sh -c 'echo $$ >"$1/cgroup.procs" && exec strace -f -e trace=fcntl -o "$2" "$3" --exe "$4" --threads 1 -o "$5"' \
		sh "$cg_dir" limited.trace "$HDUMP" "$bin" limited.hprof 2>err || rc=$?
	expect_eq "in a 256 MB memory cgroup: exit code" "$rc" 0
	expect_eq "in a 256 MB memory cgroup: the same dump" "$(body limited.hprof)" "$want"
	expect_eq "in a 256 MB memory cgroup: O_DIRECT past the cache budget" "$(direct_sets limited.trace)" 2
	strace -f -e trace=fcntl -o free.trace "$HDUMP" --exe "$bin" --threads 1 -o free.hprof 2>err ||
		fail "outside the cgroup: exit $?"
	expect_eq "outside the cgroup: through the cache only" "$(direct_sets free.trace)" 1
	rm -f limited.hprof free.hprof
else
	echo "ok - a memory cgroup's cache budget: skipped (no writable memory cgroup, or no strace)"
fi

# HDUMP_FAULT is a test build option, not an environment variable of the release.
if strings "$HDUMP" | grep -c HDUMP_FAULT >/dev/null; then fail "the installed hdump has fault hooks"; else
	pass "the installed hdump has no fault hooks"; fi
strings "$HDUMP_FAULTS" | grep -c HDUMP_FAULT >/dev/null && pass "the test build has them" ||
	fail "hdump-faults lacks the fault hooks"
finish
