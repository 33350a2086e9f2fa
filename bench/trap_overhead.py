"""What being traced for an exit or crash dump costs the target, two ways in
one run (README, "What being traced costs the target"):

(a) Directly: one warmed-up pkl 0.30.2 REPL evaluates a function whose
compiled code is stable and that allocates nothing (an integer fold: no
GC, no recompilation once warm; about 50 ms of CPU per evaluation), in
blocks of EVALS evaluations, the blocks in pairs, one untraced and one
traced by the trap (tests/e2e/trapdump.c, both triggers; attached before
the block, detached after it, outside the measurement), in an order drawn
per pair (seeded).  The CPU time measured is the evaluating thread's
(/proc/PID/task/TID/schedstat, ns: not the time it waited for a CPU).  A
pair's ratio is untraced / traced summed CPU (the traced REPL's throughput
relative to the untraced one: 1.00 is no cost); the result is the ratio of
the sums over all pairs, with a bootstrap 95 % interval (resampling the
pairs), and how the interval narrows with the number of pairs.  The other
threads' CPU during the measured blocks (the Truffle compiler's) is
reported: ~0 shows the code did not change under the measurement.

(b) A bound from first principles: bench/stopcost.c measures what one stop
of each kind the trap handles (a thread's clone and exit stops, a signal
passed on) costs a helper child, traced by the trap's own code against
untraced, in paired blocks; the worst kind's cost per stop (upper end of
its interval, wall time: the round trip to the tracer included) times the
stops the trap counted in (a)'s traced blocks, divided by their CPU time,
bounds the slowdown without the timing noise of (a).

    bench/trap_overhead.sh [PAIRS [SEED [EVALS]]]      (after tools/build.sh)

SIGINT (Ctrl-C) ends (a) early; the summary then covers the pairs done.
"""
import os
import random
import re
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
STOPCOST = os.path.join(BUILD, "tests", "stopcost")
# Defined once, so that each evaluation runs the same compiled code (an
# expression typed again is parsed and compiled again).  Integer arithmetic
# only: nothing allocated, so no collection in the measured part.
WORK_DEF = 'function spin(n) = IntSeq(0, n).fold(0, (acc, i) -> (acc * 31 + i) % 1000000007)'
WORK_EXPR = 'spin(10000000)'
# Warm-up: at least this many evaluations, then until the last WINDOW
# evaluations' CPU times spread by less than SETTLED (max/min - 1), at most
# WARMUP_MAX.
WARMUP_MIN, WARMUP_MAX, WINDOW, SETTLED = 20, 200, 10, 0.05
BOOTSTRAP = 4000
# stopcost: events per block and pairs of blocks per kind.
STOP_EVENTS, STOP_PAIRS = 2000, 12


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

    def worker_ns(self):
        with open(f"/proc/{self.proc.pid}/task/{self.worker}/schedstat") as f:
            return int(f.read().split()[0])

    def others(self):
        """Every live thread's CPU ns but the worker's, by thread."""
        ns = self.thread_ns()
        ns.pop(self.worker, None)
        return ns

    def eval(self, expr):
        """The answer's last characters."""
        self.proc.stdin.write((expr + "\n").encode())
        self.proc.stdin.flush()
        self.n += 1
        out = self.read_until(f"pkl{self.n}> ".encode())
        return out.rsplit(b"\n", 1)[0].strip()[-40:]

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


def bootstrap(pairs, stat, rng):
    """STAT of PAIRS and its bootstrap 95 % interval (resampling pairs)."""
    vals = sorted(stat(rng.choices(pairs, k=len(pairs))) for _ in range(BOOTSTRAP))
    return stat(pairs), vals[int(0.025 * BOOTSTRAP)], vals[int(0.975 * BOOTSTRAP) - 1]


def ratio_of_sums(pairs):
    """Untraced / traced summed CPU: (untraced, traced) pairs."""
    return sum(p[0] for p in pairs) / sum(p[1] for p in pairs)


stop_early = False


def on_sigint(signo, frame):
    global stop_early
    stop_early = True


def warm_up(repl):
    """Evaluates until the CPU per evaluation has settled; the answer."""
    answer, times = None, []
    for i in range(WARMUP_MAX):
        if i == 3:
            repl.find_worker()  # the evaluating thread has run most by now
        w0 = repl.worker_ns() if repl.worker else 0
        answer = repl.eval(WORK_EXPR)
        if repl.worker:
            times.append(repl.worker_ns() - w0)
        last = times[-WINDOW:]
        if i + 1 >= WARMUP_MIN and len(last) == WINDOW and max(last) / min(last) - 1 < SETTLED:
            print(f"warm after {i + 1} evaluations: {statistics.median(last) / 1e6:.1f} ms CPU each",
                  flush=True)
            return answer
    raise RuntimeError(f"CPU per evaluation did not settle in {WARMUP_MAX} evaluations: "
                       f"{[round(t / 1e6, 1) for t in times[-WINDOW:]]} ms")


def measure_block(repl, evals, answer):
    """(worker CPU ns, other threads' CPU ns) of EVALS evaluations (a
    thread that ended meanwhile loses its last slice: not seen)."""
    w0, o0 = repl.worker_ns(), repl.others()
    for _ in range(evals):
        out = repl.eval(WORK_EXPR)
        if out != answer:
            raise RuntimeError(f"wrong answer {out!r}, expected {answer!r}")
    w1, o1 = repl.worker_ns(), repl.others()
    return w1 - w0, sum(ns - o0.get(tid, 0) for tid, ns in o1.items())


def direct(pairs, evals, rng, work):
    """(a): the REPL's blocks; ((untraced ns, traced ns) per pair, stops
    per traced block, other threads' ns, worker ns in all)."""
    repl = Repl()
    got, stops, others, worker = [], [], 0, 0
    try:
        repl.eval(WORK_DEF)
        answer = warm_up(repl)
        for p in range(pairs):
            if stop_early:
                break
            order = ["untraced", "traced"]
            rng.shuffle(order)
            cpu = {}
            for mode in order:
                trap = Trap(repl.proc.pid, work) if mode == "traced" else None
                try:
                    cpu[mode], other = measure_block(repl, evals, answer)
                finally:
                    n = trap.close() if trap else None
                if n is not None:
                    stops.append(n)
                others += other
                worker += cpu[mode]
            got.append((cpu["untraced"], cpu["traced"]))
            print(f"pair {p + 1:3d} {order[0][0]}{order[1][0]} CPU ms untraced "
                  f"{cpu['untraced'] / 1e6:.1f} traced {cpu['traced'] / 1e6:.1f} (stops {stops[-1]}) "
                  f"ratio {cpu['untraced'] / cpu['traced']:.4f}", flush=True)
    finally:
        repl.close()
    return got, stops, others, worker


def stop_costs(seed, rng):
    """(b): per kind, (wall ns, CPU ns) per stop, each a bootstrap
    (median, low, high) over the pairs of blocks."""
    out = subprocess.run([STOPCOST, str(STOP_EVENTS), str(STOP_PAIRS), str(seed)],
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"stopcost ended with {out.returncode}: {out.stderr.strip()}")
    blocks = {}
    for line in out.stdout.splitlines():
        m = re.match(r"block (\w+) (\d+) (\w+) events=\d+ stops=(\d+) wall_ns=(\d+) cpu_ns=(\d+)$", line)
        if m:
            kind, pair, mode = m.group(1), int(m.group(2)), m.group(3)
            blocks.setdefault(kind, {}).setdefault(pair, {})[mode] = tuple(map(int, m.group(4, 5, 6)))
    costs = {}
    for kind, by_pair in blocks.items():
        # Per pair, the extra time of the traced block divided by its stops.
        per = [((t[1] - u[1]) / t[0], (t[2] - u[2]) / t[0], t[0] / STOP_EVENTS)
               for t, u in ((b["traced"], b["untraced"]) for b in by_pair.values()) if t[0]]
        costs[kind] = (bootstrap([x[0] for x in per], statistics.median, rng),
                       bootstrap([x[1] for x in per], statistics.median, rng),
                       statistics.median(x[2] for x in per))
    return costs


def report_scaling(got, rng):
    """The 95 % interval of (a) for the first N pairs, N doubling (all of
    them: the line above)."""
    n = 8
    sizes = []
    while n < len(got):
        sizes.append(n)
        n *= 2
    for n in sizes:
        r, lo, hi = bootstrap(got[:n], ratio_of_sums, rng)
        print(f"  first {n:3d} pairs: {r:.4f} [{lo:.4f}, {hi:.4f}]  half-width {100 * (hi - lo) / 2:.2f} %")


def main():
    signal.signal(signal.SIGINT, on_sigint)
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    evals = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    rng = random.Random(seed)
    for tool in (TRAPDUMP, STOPCOST):
        if not os.access(tool, os.X_OK):
            sys.exit(f"no {tool}: build with the tests (tools/build.sh)")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    costs = stop_costs(seed, rng)
    with tempfile.TemporaryDirectory() as work:
        got, stops, others, worker = direct(pairs, evals, rng, work)
    if not got:
        sys.exit("no pair done")
    print(f"\n(a) direct: {len(got)} pairs of {evals} evaluations ({WORK_EXPR}), seed {seed}; "
          f"CPU per evaluation untraced {statistics.median(u for u, _ in got) / evals / 1e6:.2f} ms, "
          f"traced {statistics.median(t for _, t in got) / evals / 1e6:.2f} ms; other threads' CPU "
          f"in the measured blocks {100 * others / worker:.2f} % of the evaluating thread's")
    r, lo, hi = bootstrap(got, ratio_of_sums, rng)
    med, mlo, mhi = bootstrap([u / t for u, t in got], statistics.median, rng)
    print(f"throughput traced / untraced, ratio of summed CPU: {r:.4f} ({100 * (r - 1):+.2f} %), "
          f"95 % interval [{lo:.4f}, {hi:.4f}]; median of pair ratios {med:.4f} [{mlo:.4f}, {mhi:.4f}]")
    report_scaling(got, rng)
    inside = 0.99 <= lo and hi <= 1.01
    print(f"  the interval is {'inside' if inside else 'NOT inside'} [0.99, 1.01]")

    print(f"\n(b) bound: cost of one ptrace stop of the trap, {STOP_PAIRS} pairs of "
          f"{STOP_EVENTS}-event blocks per kind on a helper child (median, 95 % interval):")
    worst = 0.0
    for kind, (wall, cpu, per_event) in sorted(costs.items()):
        print(f"  {kind:6s} ({per_event:.0f} stop(s) per event): wall {wall[0] / 1e3:.1f} us "
              f"[{wall[1] / 1e3:.1f}, {wall[2] / 1e3:.1f}], target CPU {cpu[0] / 1e3:.1f} us "
              f"[{cpu[1] / 1e3:.1f}, {cpu[2] / 1e3:.1f}]")
        worst = max(worst, wall[2], cpu[2])
    traced_cpu = sum(t for _, t in got)
    bound = sum(stops) * worst / traced_cpu
    print(f"  stops in (a)'s traced blocks: {sum(stops)} in {len(stops)} blocks (max {max(stops)} in "
          f"one) over {traced_cpu / 1e9:.2f} s of CPU; at the worst cost per stop ({worst / 1e3:.1f} us) "
          f"the slowdown is at most {100 * bound:.4f} %")
    print(f"\nverdict: (b) bounds the cost by {100 * bound:.4f} % "
          f"({'<=' if bound <= 0.01 else '>'} 1 %); (a) measures {100 * (r - 1):+.2f} % "
          f"[{100 * (lo - 1):+.2f} %, {100 * (hi - 1):+.2f} %]"
          f"{'' if inside else ', not resolved to 1 % by timing in this run'}")


if __name__ == "__main__":
    main()
