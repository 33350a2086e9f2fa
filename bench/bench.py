#!/usr/bin/env python3
"""hdump's benchmark: dump speed, memory and the target's pause, measured in
one run against HotSpot's own dumpers on a comparable Java heap.

Targets it builds itself:
  * a pkl REPL (GraalVM CE 25 native image) holding a Listing of N items,
    at about 256 MB and about 1 GB of live heap;
  * a pkl REPL holding many small objects: a Listing of three million short
    strings (issue 13's case; --scale shrinks it for quick runs);
  * bench/HeapHolder.java on the installed JDK, holding as many objects
    and bytes as hdump found in the pkl heap, in the same shape (items, or
    short strings).
Per configuration, the median of RUNS runs: wall time, heap MB/s, objects/s,
the dumper's CPU time (user + system), HPROF bytes, its peak RSS and the
target's longest stop; hdump also to /dev/null (processing alone), and a
perf profile of where its time goes.  hdump runs with its discovery cache
($HDUMP_CACHE_DIR) warmed by one untimed run, except the "cold cache" row,
whose every run starts from an empty cache.

  bench/bench.py [--quick] [--runs N] [--scale F] [--cases 256MB,1GB,small]
                 [--no-perf]
--quick: one run of 256MB and of the small-objects case at a quarter scale.
HDUMP=path picks the hdump binary (default build/hdump).  The stop of a
ptrace dumper is sampled from outside (every task's state in /proc, every
~0.5 ms: 't' is a ptrace stop), in runs of its own: the sampler takes a third
of a core, so hdump's wall time, CPU and RSS come from runs without it, as
jcmd's do; jcmd's pause is the JVM's own safepoint log for the HeapDumper
operation, since threads parked at a safepoint look like any sleeping
thread from outside.
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HDUMP = os.environ.get("HDUMP", os.path.join(ROOT, "build", "hdump"))
ARGS = argparse.ArgumentParser(description="hdump's benchmark")
ARGS.add_argument("--quick", action="store_true")
ARGS.add_argument("--runs", type=int)
ARGS.add_argument("--scale", type=float, help="of the small-objects case (default 1, --quick 0.25)")
ARGS.add_argument("--cases", help="comma-separated: 256MB,1GB,small")
ARGS.add_argument("--no-perf", action="store_true", help="skip the perf profile")
OPT = ARGS.parse_args()
QUICK = OPT.quick
RUNS = OPT.runs or (1 if QUICK else 3)
SCALE = OPT.scale or (0.25 if QUICK else 1.0)
WORK = tempfile.mkdtemp(prefix="hdump-bench.")
# Per case: the pkl REPL's data and the HotSpot counterpart's shape.  Items:
# a Dynamic with a name, a value and a list each; strings: short strings.
ALL_CASES = {
    "256MB": ("items", 270_000),
    "1GB": ("items", 1_400_000),
    "small": ("strings", int(3_000_000 * SCALE)),
}
CASES = OPT.cases.split(",") if OPT.cases else (["256MB", "small"] if QUICK else list(ALL_CASES))
MODES = ("default", "stop", "copy", "fork")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class StopSampler(threading.Thread):
    """Longest interval during which any task of PID sat in a ptrace stop."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.running, self.longest, self.since = pid, True, 0.0, None

    def stopped(self):
        try:
            tasks = os.listdir(f"/proc/{self.pid}/task")
        except OSError:
            return False
        for t in tasks:
            try:
                with open(f"/proc/{self.pid}/task/{t}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state in ("t", "T"):
                return True
        return False

    def run(self):
        while self.running:
            now = time.monotonic()
            if self.stopped():
                if self.since is None:
                    self.since = now
                self.longest = max(self.longest, now - self.since)
            else:
                self.since = None
            time.sleep(0.0005)

    def finish(self):
        self.running = False
        self.join()
        return self.longest


def measure(cmd, target_pid, out_file, sample=True, env=None):
    """Runs CMD (in ENV, default this process's); returns wall seconds, peak
    RSS (bytes), longest target stop, file size, stderr and CPU seconds
    (user + system)."""
    sampler = StopSampler(target_pid) if sample else None
    if sampler:
        sampler.start()
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    stop = sampler.finish() if sampler else None
    err = proc.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[0]} failed: {err.strip()}")
    size = os.path.getsize(out_file) if os.path.isfile(out_file) else 0
    return wall, usage.ru_maxrss * 1024, stop, size, err, usage.ru_utime + usage.ru_stime


def measure_hdump(cmd, target_pid, out_file, env, fresh_env=None):
    """measure() for an hdump run, twice: the wall time, RSS, size and CPU
    from a run with nothing else on the machine, the target's stop from a
    second run under the sampler (which takes a third of a core: on two
    cores, timed alongside it, hdump would lose what jcmd, measured without
    it, does not).  FRESH_ENV, when given, makes the second run's
    environment (a cold cache of its own)."""
    wall, rss, _, size, err, cpu = measure(cmd, target_pid, out_file, sample=False, env=env)
    if out_file != "/dev/null" and os.path.isfile(out_file):
        os.unlink(out_file)
    stop = measure(cmd, target_pid, out_file, env=fresh_env() if fresh_env else env)[2]
    return wall, rss, stop, size, err, cpu


class PklRepl:
    def __init__(self, shape, items):
        pkl = subprocess.check_output([os.path.join(ROOT, "tests", "fetch-pkl.sh"), "0.30.2"],
                                      text=True).strip()
        self.dir = tempfile.mkdtemp(dir=WORK)
        fifo = os.path.join(self.dir, "in")
        os.mkfifo(fifo)
        self.out = os.path.join(self.dir, "out")
        self.proc = subprocess.Popen([pkl, "repl"], stdin=subprocess.PIPE,
                                     stdout=open(self.out, "w"), stderr=subprocess.STDOUT)
        self.n = 0
        self.pid = self.proc.pid
        if shape == "strings":
            self.eval(f'data = new Listing {{ for (i in IntSeq(0, {items - 1})) '
                      f'{{ "payload-\\(i)-abcdefghijklmnopqrstuvwxyz" }} }}')
        else:
            self.eval(f'data = new Listing {{ for (i in IntSeq(0, {items - 1})) {{ new Dynamic '
                      f'{{ name = "item-\\(i)"; value = i; tags = List("a\\(i)", "b\\(i)") }} }} }}')
        self.eval("data.toList().length")

    def eval(self, expr):
        self.proc.stdin.write((expr + "\n").encode())
        self.proc.stdin.flush()
        self.n += 1
        deadline = time.time() + 600
        while f"pkl{self.n}> " not in open(self.out, errors="replace").read():
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("pkl repl did not answer")
            time.sleep(0.1)

    def close(self):
        self.proc.kill()
        self.proc.wait()


class JavaHolder:
    def __init__(self, objects, nbytes, tag, shape):
        src = os.path.join(ROOT, "bench", "HeapHolder.java")
        classes = os.path.join(WORK, "classes")
        if not os.path.exists(os.path.join(classes, "HeapHolder.class")):
            subprocess.check_call(["javac", "-d", classes, src])
        self.safepoints = os.path.join(WORK, f"safepoint-{tag}.log")
        heap_mb = max(512, nbytes * 3 // (1 << 20))
        self.proc = subprocess.Popen(
            ["java", f"-Xmx{heap_mb}m", f"-Xlog:safepoint:file={self.safepoints}",
             "-XX:+UseSerialGC", "-cp", classes, "HeapHolder", str(objects), str(nbytes), shape],
            stdout=subprocess.PIPE, text=True)
        self.pid = self.proc.pid
        self.used = 0
        for line in self.proc.stdout:
            if line.startswith("used "):
                self.used = int(line.split()[1])
            if line.strip() == "ready":
                break

    def heap_dumper_pauses(self):
        """Total times (s) of the JVM's HeapDumper safepoints so far."""
        pauses = []
        for line in open(self.safepoints, errors="replace"):
            m = re.search(r'Safepoint "HeapDumper".*Total: (\d+) ns', line)
            if m:
                pauses.append(int(m.group(1)) / 1e9)
        return pauses

    def close(self):
        self.proc.kill()
        self.proc.wait()


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


rows = []


def record(name, target, heap_bytes, objects, results):
    walls, rsss, stops, sizes, cpus = zip(*[(r[0], r[1], r[2], r[3], r[5]) for r in results])
    row = {
        "dumper": name, "target": target, "heap_mb": heap_bytes / 1e6, "objects": objects,
        "wall_s": median(walls), "mb_per_s": heap_bytes / 1e6 / median(walls),
        "mobj_per_s": objects / 1e6 / median(walls), "cpu_s": median(cpus),
        "hprof_mb": median(sizes) / 1e6,
        "rss_mb": median(rsss) / 1e6 if median(rsss) is not None else None,
        "pause_s": median(stops),
    }
    rows.append(row)
    log(f"  {name} on {target}: {row['wall_s']:.2f} s, pause {row['pause_s'] or 0:.3f} s")
    return row


def cache_env(cache_dir):
    """hdump's environment with its discovery cache in CACHE_DIR (an hdump
    without the cache ignores the variable)."""
    return {**os.environ, "HDUMP_CACHE_DIR": cache_dir}


def perf_profile(label, pid, env):
    """The symbols hdump spends its time in, one writer thread, to /dev/null."""
    data = os.path.join(WORK, f"perf-{label}.data")
    try:
        subprocess.run(["perf", "record", "-q", "-F", "2000", "-o", data, "--", HDUMP, "-p",
                        str(pid), "--snapshot=stop", "--threads", "1", "-o", "/dev/null"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        report = subprocess.run(["perf", "report", "--stdio", "-i", data, "--sort", "symbol",
                                 "--percent-limit", "1.5"], check=True, text=True,
                                capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        return [f"(perf unavailable: {e})"]
    return [line for line in report.splitlines() if line.strip() and not line.startswith("#")][:15]


profiles = {}


def bench_pkl(label, shape, items):
    log(f"pkl target {label}: {items} {shape}")
    repl = PklRepl(shape, items)
    target = f"pkl {label}"
    # The hdump rows run with a discovery cache warmed by this first,
    # untimed run: the steady state of repeated dumps of one executable.
    warm = cache_env(os.path.join(WORK, f"cache-{label}"))
    try:
        summary = subprocess.check_output([HDUMP, "-p", str(repl.pid), "--histo", "--json"],
                                          text=True, env=warm)
        info = json.loads(summary.strip().splitlines()[-1])
        heap, objects = info["heap_bytes"], info["objects"]
        for mode in MODES + ("null",):
            res = []
            for i in range(RUNS):
                out = "/dev/null" if mode == "null" else \
                    os.path.join(WORK, f"hdump-{label}-{mode}-{i}.hprof")
                snap = [] if mode in ("default", "null") else [f"--snapshot={mode}"]
                res.append(measure_hdump([HDUMP, "-p", str(repl.pid)] + snap + ["-o", out],
                                         repl.pid, out, warm))
                if out != "/dev/null" and os.path.isfile(out):
                    os.unlink(out)
            name = {"default": "hdump (default: " + info.get("snapshot", "?") + ")",
                    "null": "hdump (default) >/dev/null"}.get(mode, f"hdump --snapshot={mode}")
            record(name, target, heap, objects, res)
        # The fixed cost in every dump: discovery of the layout, classes and
        # names from the image heap, and the scan of threads and chunks.
        # A first dump of an executable: every run with an empty cache of its own.
        res = []
        def cold():
            return cache_env(tempfile.mkdtemp(dir=WORK, prefix="cache-cold-"))
        for i in range(RUNS):
            out = os.path.join(WORK, f"hdump-{label}-cold-{i}.hprof")
            res.append(measure_hdump([HDUMP, "-p", str(repl.pid), "-o", out], repl.pid, out,
                                     cold(), fresh_env=cold))
            if os.path.isfile(out):
                os.unlink(out)
        record("hdump (default), cold cache", target, heap, objects, res)
        res = [measure_hdump([HDUMP, "-p", str(repl.pid), "--list-isolates"], repl.pid,
                             "/dev/null", warm)
               for _ in range(RUNS)]
        record("hdump discovery (--list-isolates)", target, heap, objects, res)
        if not OPT.no_perf:
            profiles[label] = perf_profile(label, repl.pid, warm)
        return info
    finally:
        repl.close()


def bench_java(label, objects, nbytes, shape, jhsdb=False):
    log(f"Java target {label}: {objects} objects, {nbytes} bytes, {shape}")
    holder = JavaHolder(objects, nbytes, label, shape)
    try:
        res = []
        for i in range(RUNS):
            out = os.path.join(WORK, f"jcmd-{label}-{i}.hprof")
            wall, rss, _, size, _, cpu = measure(["jcmd", str(holder.pid), "GC.heap_dump", out],
                                                 holder.pid, out, sample=False)
            # The work happens inside the JVM: jcmd's own RSS and CPU say nothing.
            res.append((wall, None, holder.heap_dumper_pauses()[-1], size, None, None))
            os.unlink(out)
        record("jcmd GC.heap_dump", f"Java {label}", holder.used, objects, res)
        if jhsdb:
            out = os.path.join(WORK, f"jhsdb-{label}.hprof")
            res = [measure(["jhsdb", "jmap", "--binaryheap", f"--dumpfile={out}",
                            "--pid", str(holder.pid)], holder.pid, out)]
            os.unlink(out)
            record("jhsdb jmap --binaryheap", f"Java {label}", holder.used, objects, res)
    finally:
        holder.close()


def fmt(v, spec, none="-"):
    return format(v, spec) if v is not None else none


def main():
    for label in CASES:
        shape, items = ALL_CASES[label]
        info = bench_pkl(label, shape, items)
        bench_java(label, info["objects"], info["heap_bytes"], shape)
    if not QUICK:
        bench_java("32MB", 400_000, 32 << 20, "items", jhsdb=True)

    print()
    print(f"hdump benchmark, {os.cpu_count()} cores, median of {RUNS} run(s); "
          f"heap MB = live heap the dumper walked (pkl: hdump's count, Java: used after GC); "
          f"CPU s = the dumper's user + system time")
    print()
    print("| dumper | target | heap MB | objects M | wall s | MB/s | Mobj/s | CPU s | HPROF MB | RSS MB | pause s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['dumper']} | {r['target']} | {r['heap_mb']:.0f} | {r['objects'] / 1e6:.2f} | "
              f"{r['wall_s']:.2f} | {r['mb_per_s']:.0f} | {r['mobj_per_s']:.2f} | "
              f"{fmt(r['cpu_s'], '.2f')} | {r['hprof_mb']:.0f} | {fmt(r['rss_mb'], '.0f', '(JVM)')} | "
              f"{fmt(r['pause_s'], '.3f')} |")
    print()
    for label in CASES:
        jc = next((r for r in rows if r["target"] == f"Java {label}" and r["dumper"].startswith("jcmd")), None)
        for hd in (r for r in rows if r["target"] == f"pkl {label}"):
            if not jc or "discovery" in hd["dumper"]:
                continue
            budget = 64 + 0.02 * hd["heap_mb"]
            line = (f"{label} {hd['dumper']}: throughput hdump/jcmd = "
                    f"{hd['mb_per_s'] / jc['mb_per_s']:.2f}x (target >= 2.5x)")
            if hd["pause_s"] is not None and jc["pause_s"]:
                line += f"; pause hdump/jcmd = {hd['pause_s'] / jc['pause_s']:.3f} (target <= 0.05)"
            line += f"; RSS {hd['rss_mb']:.0f} MB vs budget {budget:.0f} MB (64 MB + 2% of heap)"
            print(line)
    for label, lines in profiles.items():
        print()
        print(f"perf profile, pkl {label}, --snapshot=stop --threads 1 -o /dev/null "
              f"(symbols over 1.5 % of samples):")
        for line in lines:
            print("   " + line.strip())


if __name__ == "__main__":
    try:
        main()
    finally:
        subprocess.call(["rm", "-rf", WORK])
