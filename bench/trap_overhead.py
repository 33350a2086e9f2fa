"""What being traced for an exit or crash dump costs the target: the pkl
REPL's throughput on one computation untraced and traced by the trap
(tests/e2e/trapdump.c, both triggers), measured in the same run, in
alternating blocks (untraced, traced, untraced, traced) so that drift on a
shared machine falls on both sides.  Prints each block's median and the
ratio traced/untraced of throughput (1.00: no cost).

    bench/trap_overhead.sh [ROUNDS]      (after tools/build.sh)
"""
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("HDUMP_BUILD", os.path.join(ROOT, "build"))
TRAPDUMP = os.path.join(BUILD, "tests", "trapdump")
# About a second of allocation-heavy work per evaluation (strings, GCs).
WORK_EXPR = 'IntSeq(0, 2000000).fold(0, (acc, i) -> acc + "\\(i)".length)'
WORK_ANSWER = b"12888897"


class Repl:
    def __init__(self):
        pkl = subprocess.check_output([os.path.join(ROOT, "tests", "fetch-pkl.sh"), "0.30.2"],
                                      text=True).strip()
        self.proc = subprocess.Popen([pkl, "repl"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.n = 0
        self.read_until(b"pkl0> ")

    def read_until(self, marker, timeout=600):
        buf = b""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while marker not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise RuntimeError("pkl repl did not answer")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError("pkl repl ended")
            buf += chunk
        return buf

    def cpu_s(self):
        """CPU time the process has used (utime + stime of /proc/PID/stat,
        threads that ended included): less disturbed than wall time by the
        other work of a shared machine."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def timed_eval(self, expr, answer):
        """(wall seconds, CPU seconds) of one evaluation."""
        self.proc.stdin.write((expr + "\n").encode())
        self.proc.stdin.flush()
        self.n += 1
        t0, c0 = time.monotonic(), self.cpu_s()
        out = self.read_until(f"pkl{self.n}> ".encode())
        elapsed, cpu = time.monotonic() - t0, self.cpu_s() - c0
        if answer not in out:
            raise RuntimeError(f"wrong answer: {out[-200:]!r}")
        return elapsed, cpu

    def close(self):
        self.proc.kill()
        self.proc.wait()


class Trap:
    """trapdump on PID until closed (SIGINT: it detaches, exit 14)."""

    def __init__(self, pid, workdir):
        self.proc = subprocess.Popen([TRAPDUMP, str(pid), os.path.join(workdir, "t.hprof"), "both"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"trapdump: {line!r} {self.proc.stderr.read()!r}")

    def close(self):
        self.proc.send_signal(signal.SIGINT)
        rc = self.proc.wait(timeout=60)
        if rc != 14:
            raise RuntimeError(f"trapdump ended with {rc}")


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    per_block = 3
    if not os.access(TRAPDUMP, os.X_OK):
        sys.exit(f"no {TRAPDUMP}: build with the tests (tools/build.sh)")
    repl = Repl()
    times = {"untraced": [], "traced": []}
    with tempfile.TemporaryDirectory() as work:
        try:
            repl.timed_eval(WORK_EXPR, WORK_ANSWER)  # warm-up
            for r in range(rounds):
                for mode in ("untraced", "traced"):
                    trap = Trap(repl.proc.pid, work) if mode == "traced" else None
                    try:
                        block = [repl.timed_eval(WORK_EXPR, WORK_ANSWER) for _ in range(per_block)]
                    finally:
                        if trap:
                            trap.close()
                    times[mode] += block
                    print(f"round {r + 1} {mode:8s} wall/cpu s " +
                          " ".join(f"{w:.3f}/{c:.3f}" for w, c in block), flush=True)
        finally:
            repl.close()
    for i, what in ((0, "wall"), (1, "CPU")):
        med = {m: statistics.median(t[i] for t in v) for m, v in times.items()}
        spread = {m: (max(t[i] for t in v) - min(t[i] for t in v)) / med[m] for m, v in times.items()}
        ratio = med["untraced"] / med["traced"]
        print(f"{what} time per evaluation: untraced median {med['untraced']:.3f} s "
              f"(spread {100 * spread['untraced']:.0f} %), traced {med['traced']:.3f} s "
              f"(spread {100 * spread['traced']:.0f} %), {len(times['traced'])} runs each")
        print(f"throughput traced / untraced ({what}): {ratio:.3f} ({100 * (ratio - 1):+.1f} %)")

if __name__ == "__main__":
    main()
