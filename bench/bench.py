#!/usr/bin/env python3
"""hdump's benchmark: dump speed, memory and the target's pause, measured in
one run against HotSpot's own dumpers on a comparable Java heap.

Targets it builds itself:
  * a pkl REPL (GraalVM CE 25 native image) holding a Listing of N items,
    at about 256 MB and about 1 GB of live heap;
  * bench/HeapHolder.java on the installed JDK, holding as many objects
    and bytes as hdump found in the pkl heap.
Per configuration, the median of RUNS runs: wall time, heap MB/s, HPROF
bytes, the dumper's peak RSS and the target's longest stop.  The stop of a
ptrace dumper is sampled from outside (every task's state in /proc, every
~0.5 ms: 't' is a ptrace stop); jcmd's pause is the JVM's own safepoint log
for the HeapDumper operation, since threads parked at a safepoint look like
any sleeping thread from outside.
"""
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
HDUMP = os.path.join(ROOT, "build", "hdump")
QUICK = "--quick" in sys.argv
RUNS = 1 if QUICK else 3
WORK = tempfile.mkdtemp(prefix="hdump-bench.")
# pkl items per target size (each item: a Dynamic with a name, a value and a list).
SIZES = {"256MB": 270_000, "1GB": 1_400_000} if not QUICK else {"256MB": 270_000}


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


def measure(cmd, target_pid, out_file, sample=True):
    """Runs CMD; returns wall seconds, peak RSS (bytes), longest target stop, file size."""
    sampler = StopSampler(target_pid) if sample else None
    if sampler:
        sampler.start()
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    stop = sampler.finish() if sampler else None
    err = proc.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[0]} failed: {err.strip()}")
    size = os.path.getsize(out_file) if os.path.exists(out_file) else 0
    return wall, usage.ru_maxrss * 1024, stop, size, err


class PklRepl:
    def __init__(self, items):
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
    def __init__(self, objects, nbytes, tag):
        src = os.path.join(ROOT, "bench", "HeapHolder.java")
        classes = os.path.join(WORK, "classes")
        if not os.path.exists(os.path.join(classes, "HeapHolder.class")):
            subprocess.check_call(["javac", "-d", classes, src])
        self.safepoints = os.path.join(WORK, f"safepoint-{tag}.log")
        heap_mb = max(512, nbytes * 3 // (1 << 20))
        self.proc = subprocess.Popen(
            ["java", f"-Xmx{heap_mb}m", f"-Xlog:safepoint:file={self.safepoints}",
             "-XX:+UseSerialGC", "-cp", classes, "HeapHolder", str(objects), str(nbytes)],
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


def record(name, target, heap_bytes, results):
    walls, rsss, stops, sizes = zip(*[(r[0], r[1], r[2], r[3]) for r in results])
    row = {
        "dumper": name, "target": target, "heap_mb": heap_bytes / 1e6,
        "wall_s": median(walls), "mb_per_s": heap_bytes / 1e6 / median(walls),
        "hprof_mb": median(sizes) / 1e6,
        "rss_mb": median(rsss) / 1e6 if median(rsss) is not None else None,
        "pause_s": median(stops),
    }
    rows.append(row)
    log(f"  {name} on {target}: {row['wall_s']:.2f} s, pause {row['pause_s'] or 0:.3f} s")
    return row


def bench_pkl(label, items):
    log(f"pkl target {label}: {items} items")
    repl = PklRepl(items)
    try:
        summary = subprocess.check_output([HDUMP, "-p", str(repl.pid), "--histo", "--json"],
                                          text=True)
        info = json.loads(summary.strip().splitlines()[-1])
        heap = info["heap_bytes"]
        for mode in ("stop", "copy", "fork"):
            res = []
            for i in range(RUNS):
                out = os.path.join(WORK, f"hdump-{label}-{mode}-{i}.hprof")
                res.append(measure([HDUMP, "-p", str(repl.pid), f"--snapshot={mode}", "-o", out],
                                   repl.pid, out))
                os.unlink(out)
            record(f"hdump --snapshot={mode}", f"pkl {label}", heap, res)
        return info
    finally:
        repl.close()


def bench_java(label, objects, nbytes, jhsdb=False):
    log(f"Java target {label}: {objects} objects, {nbytes} bytes")
    holder = JavaHolder(objects, nbytes, label)
    try:
        res = []
        for i in range(RUNS):
            out = os.path.join(WORK, f"jcmd-{label}-{i}.hprof")
            wall, rss, _, size, _ = measure(["jcmd", str(holder.pid), "GC.heap_dump", out],
                                            holder.pid, out, sample=False)
            # The work happens inside the JVM: jcmd's own RSS says nothing.
            res.append((wall, None, holder.heap_dumper_pauses()[-1], size))
            os.unlink(out)
        record("jcmd GC.heap_dump", f"Java {label}", holder.used, res)
        if jhsdb:
            res = []
            for i in range(1 if not QUICK else 1):
                out = os.path.join(WORK, f"jhsdb-{label}-{i}.hprof")
                res.append(measure(["jhsdb", "jmap", "--binaryheap", f"--dumpfile={out}",
                                    "--pid", str(holder.pid)], holder.pid, out)[:4])
                os.unlink(out)
            record("jhsdb jmap --binaryheap", f"Java {label}", holder.used, res)
    finally:
        holder.close()


def main():
    for label, items in SIZES.items():
        info = bench_pkl(label, items)
        bench_java(label, info["objects"], info["heap_bytes"])
    bench_java("32MB", 400_000, 32 << 20, jhsdb=True)

    print()
    print(f"hdump benchmark, {os.cpu_count()} cores, median of {RUNS} run(s); "
          f"heap MB = live heap the dumper walked (pkl: hdump's count, Java: used after GC)")
    hdr = f"{'dumper':26} {'target':12} {'heap MB':>8} {'wall s':>8} {'MB/s':>8} {'HPROF MB':>9} {'RSS MB':>8} {'pause s':>8}"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        pause = f"{r['pause_s']:.3f}" if r["pause_s"] is not None else "-"
        rss = f"{r['rss_mb']:.0f}" if r["rss_mb"] is not None else "(JVM)"
        print(f"{r['dumper']:26} {r['target']:12} {r['heap_mb']:8.0f} {r['wall_s']:8.2f} "
              f"{r['mb_per_s']:8.0f} {r['hprof_mb']:9.0f} {rss:>8} {pause:>8}")
    print()
    for label in SIZES:
        jc = next((r for r in rows if r["target"] == f"Java {label}" and r["dumper"].startswith("jcmd")), None)
        for mode in ("stop", "copy", "fork"):
            hd = next((r for r in rows if r["target"] == f"pkl {label}" and r["dumper"].endswith(mode)), None)
            if not jc or not hd:
                continue
            budget = 64 + 0.02 * hd["heap_mb"]
            print(f"{label} --snapshot={mode}: throughput hdump/jcmd = {hd['mb_per_s'] / jc['mb_per_s']:.2f}x "
                  f"(target >= 2.5x); pause hdump/jcmd = {hd['pause_s'] / jc['pause_s']:.3f} "
                  f"(target <= 0.05); RSS {hd['rss_mb']:.0f} MB vs budget {budget:.0f} MB "
                  f"(64 MB + 2% of heap)")


if __name__ == "__main__":
    try:
        main()
    finally:
        subprocess.call(["rm", "-rf", WORK])
