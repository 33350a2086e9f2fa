"""What being traced for an exit or crash dump costs the target: the pkl
REPL's CPU time on one deterministic computation untraced and traced by the
trap (tests/e2e/trapdump.c, both triggers), in one warmed-up REPL.

The runs come in pairs, one untraced and one traced evaluation each, in an
order drawn at random per pair (seeded), so that drift, JIT state and the
other work of a shared machine fall on both sides alike.  A pair's ratio is
untraced CPU time / traced CPU time (the traced REPL's throughput relative
to the untraced one: 1.00 is no cost); the result is the median of the
ratios with a bootstrap 95 % confidence interval (resampling the pairs).
The CPU time measured is the evaluating thread's (the REPL's Java main
thread, the one that ran most during the warm-up; the serial collector
runs in it too), from /proc/PID/task/TID/schedstat in nanoseconds: it
leaves out the time the thread waited for a CPU, which wall time counts on
a loaded machine, and the Truffle compiler threads', whose background
compilations vary from run to run.  The whole process's utime + stime
(10 ms ticks) and wall time are reported too.  The trap is attached before a traced evaluation starts
and detached after it ends (outside the measurement); each traced
evaluation reports the ptrace stops the trap handled in it (trapdump's
"stops=N"), the whole of what being traced costs.

    bench/trap_overhead.sh [PAIRS [SEED]]      (after tools/build.sh)

SIGINT (Ctrl-C) ends the run early; the summary then covers the pairs
done.
"""
import os
import random
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
# About 0.75 s of CPU per evaluation, allocation-heavy (strings,
# young GCs), the same every time: a function defined once, so that each
# evaluation runs the same compiled code (an expression typed again is
# parsed and compiled again, and its first runs are interpreted).
WORK_DEF = 'function work(n) = IntSeq(0, n).fold(0, (acc, i) -> acc + "\\(i)".length)'
WORK_EXPR = 'work(20000000)'
WARMUP = 10
BOOTSTRAP = 4000


class Repl:
    def __init__(self):
        pkl = subprocess.check_output([os.path.join(ROOT, "tests", "fetch-pkl.sh"), "0.30.2"],
                                      text=True).strip()
        # Its own session: a Ctrl-C meant for the bench does not reach it.
        self.proc = subprocess.Popen([pkl, "repl"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.n = 0
        self.worker = None
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
        """CPU time the process has used (utime + stime, threads that ended
        included)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def thread_ns(self):
        """Each live thread's CPU time in ns (schedstat's first field)."""
        out = {}
        for tid in os.listdir(f"/proc/{self.proc.pid}/task"):
            try:
                with open(f"/proc/{self.proc.pid}/task/{tid}/schedstat") as f:
                    out[int(tid)] = int(f.read().split()[0])
            except OSError:
                pass  # ended meanwhile
        return out

    def find_worker(self):
        """The thread that evaluates: of the threads but the first, the
        one that ran most so far (after the warm-up)."""
        ns = self.thread_ns()
        ns.pop(self.proc.pid, None)
        self.worker = max(ns, key=ns.get)

    def worker_s(self):
        with open(f"/proc/{self.proc.pid}/task/{self.worker}/schedstat") as f:
            return int(f.read().split()[0]) / 1e9

    def timed_eval(self, expr):
        """(wall seconds, process CPU seconds, worker CPU seconds, answer)
        of one evaluation."""
        self.proc.stdin.write((expr + "\n").encode())
        self.proc.stdin.flush()
        self.n += 1
        t0, c0 = time.monotonic(), self.cpu_s()
        w0 = self.worker_s() if self.worker else 0
        out = self.read_until(f"pkl{self.n}> ".encode())
        elapsed, cpu = time.monotonic() - t0, self.cpu_s() - c0
        worker = self.worker_s() - w0 if self.worker else 0
        return elapsed, cpu, worker, out.rsplit(b"\n", 1)[0].strip()[-40:]

    def close(self):
        self.proc.kill()
        self.proc.wait()


class Trap:
    """trapdump on PID until closed (SIGINT: it detaches, prints the stops
    it handled, exit 14)."""

    def __init__(self, pid, workdir):
        self.proc = subprocess.Popen([TRAPDUMP, str(pid), os.path.join(workdir, "t.hprof"), "both"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)
        line = self.proc.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"trapdump: {line!r} {self.proc.stderr.read()!r}")

    def close(self):
        """The ptrace stops the trap handled."""
        self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=60)
        if self.proc.returncode != 14:
            raise RuntimeError(f"trapdump ended with {self.proc.returncode}: {err!r}")
        for line in out.decode().splitlines():
            if line.startswith("stops="):
                return int(line[6:])
        raise RuntimeError(f"trapdump told no stops: {out!r}")


def median_ci(values, rng):
    """The median of VALUES and a bootstrap 95 % interval of it."""
    meds = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(BOOTSTRAP))
    return statistics.median(values), meds[int(0.025 * BOOTSTRAP)], meds[int(0.975 * BOOTSTRAP) - 1]


stop_early = False


def on_sigint(signo, frame):
    global stop_early
    stop_early = True


def main():
    signal.signal(signal.SIGINT, on_sigint)
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rng = random.Random(seed)
    if not os.access(TRAPDUMP, os.X_OK):
        sys.exit(f"no {TRAPDUMP}: build with the tests (tools/build.sh)")
    repl = Repl()
    ratios = {"thread": [], "process": [], "wall": []}
    cpu = {"untraced": [], "traced": []}
    stops = []
    with tempfile.TemporaryDirectory() as work:
        try:
            answer = None
            repl.timed_eval(WORK_DEF)
            for _ in range(WARMUP):
                answer = repl.timed_eval(WORK_EXPR)[3]
            repl.find_worker()
            for p in range(pairs):
                if stop_early:
                    break
                order = ["untraced", "traced"]
                rng.shuffle(order)
                got = {}
                for mode in order:
                    trap = Trap(repl.proc.pid, work) if mode == "traced" else None
                    try:
                        wall, c, w, out = repl.timed_eval(WORK_EXPR)
                    finally:
                        n = trap.close() if trap else None
                    if out != answer:
                        raise RuntimeError(f"wrong answer {out!r}, expected {answer!r}")
                    if n is not None:
                        stops.append(n)
                    got[mode] = (w, c, wall)
                    cpu[mode].append(w)
                for i, what in enumerate(("thread", "process", "wall")):
                    ratios[what].append(got["untraced"][i] / got["traced"][i])
                print(f"pair {p + 1:3d} {order[0][0]}{order[1][0]} thread CPU s untraced "
                      f"{got['untraced'][0]:.3f} traced {got['traced'][0]:.3f} (stops {stops[-1]}) "
                      f"ratio {ratios['thread'][-1]:.4f}; process {ratios['process'][-1]:.3f}, "
                      f"wall {ratios['wall'][-1]:.3f}", flush=True)
        finally:
            repl.close()
    pairs = len(ratios["thread"])
    if not pairs:
        sys.exit("no pair done")
    print(f"{pairs} pairs, seed {seed}; thread CPU s per evaluation: untraced median "
          f"{statistics.median(cpu['untraced']):.3f}, traced {statistics.median(cpu['traced']):.3f}")
    print(f"ptrace stops per traced evaluation: median {statistics.median(stops)}, "
          f"min {min(stops)}, max {max(stops)}")
    for what in ("thread", "process", "wall"):
        med, lo, hi = median_ci(ratios[what], rng)
        print(f"throughput traced / untraced ({what} {'time' if what == 'wall' else 'CPU'}): "
              f"median of pair ratios {med:.4f} "
              f"({100 * (med - 1):+.2f} %), 95 % CI [{lo:.4f}, {hi:.4f}] "
              f"([{100 * (lo - 1):+.2f} %, {100 * (hi - 1):+.2f} %])")


if __name__ == "__main__":
    main()
