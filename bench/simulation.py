"""Benchmark of the simulation engine (run: .venv/bin/python bench/simulation.py [--quick]).

Prints: analytic time on a 50-component design; DES request-hops per second on a 5-hop
chain; M/M/4 at utilisation 0.8 with 100,000 customers against Ciw and SimPy (customers/s
and agreement with Erlang C, measured in the same run); every example design at its peak
traffic with failure injection: wall and CPU seconds of the run, and the peak memory (max RSS)
and CPU seconds of the whole `simulate` process (imports, numba cache load, warm-up run
included), each design in a fresh process (CPU from os.wait4, peak RSS = the child's VmHWM).
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sdc.core.simulation import simulate  # noqa: E402
from sdc.core.simulation.queueing import Station  # noqa: E402


def design_50() -> dict:
    comps = [
        {"id": "users", "type": "client"},
        {"id": "lb", "type": "load-balancer", "replicas": 2, "azs": ["a", "b"]},
    ]
    edges = [{"id": "e0", "source": "users", "target": "lb"}]
    for i in range(12):
        comps += [
            {"id": f"svc{i}", "type": "service", "replicas": 4, "azs": ["a", "b"]},
            {"id": f"cache{i}", "type": "cache", "replicas": 2},
            {"id": f"db{i}", "type": "database", "params": {"read_replicas": 1}},
            {"id": f"q{i}", "type": "queue"},
        ]
        edges += [
            {"id": f"a{i}", "source": "lb", "target": f"svc{i}"},
            {"id": f"b{i}", "source": f"svc{i}", "target": f"cache{i}", "ops": "read"},
            {"id": f"c{i}", "source": f"cache{i}", "target": f"db{i}"},
            {"id": f"d{i}", "source": f"svc{i}", "target": f"db{i}", "ops": "write"},
            {"id": f"f{i}", "source": f"svc{i}", "target": f"q{i}", "ops": "write"},
        ]
    return {
        "format": "sdc-design/1",
        "components": comps,
        "edges": edges,
        "traffic": {"baseline_rps": 20000, "read_ratio": 0.9},
    }


def chain(n=5, rps=100_000.0, service_ms=1.0, servers=64):
    comps = [{"id": "users", "type": "client"}]
    edges = []
    prev = "users"
    for i in range(n):
        comps.append(
            {
                "id": f"s{i}",
                "type": "service",
                "concurrency": servers,
                "service_time_ms": service_ms,
                "queue_limit": None,
            }
        )
        edges.append({"id": f"e{i}", "source": prev, "target": f"s{i}"})
        prev = f"s{i}"
    return {
        "format": "sdc-design/1",
        "components": comps,
        "edges": edges,
        "traffic": {"baseline_rps": rps, "read_ratio": 0.5, "payload_kb": 1},
    }


def mm4_ours(lam, mu, customers, seed=1):
    service_ms = 1000.0 / mu
    doc = {
        "format": "sdc-design/1",
        "components": [
            {"id": "u", "type": "client"},
            {
                "id": "s",
                "type": "service",
                "concurrency": 4,
                "service_time_ms": service_ms,
                "queue_limit": None,
            },
        ],
        "edges": [{"id": "e", "source": "u", "target": "s"}],
        "traffic": {"baseline_rps": lam, "read_ratio": 0.5},
    }
    # the engine adds a warm-up (10% of the run, 1-10 s): size the run to `customers` in all
    dur = customers / lam
    for _ in range(20):
        dur = customers / lam - min(10.0, max(1.0, 0.1 * dur))
    t = time.perf_counter()
    r = simulate(doc, engine="des", seed=seed, duration_s=dur)
    wall = time.perf_counter() - t
    node = next(c for c in r["components"] if c["id"] == "s")
    return r["metrics"]["requests_simulated"], wall, node["mean_sojourn_ms"] / 1000.0


def mm4_ciw(lam, mu, customers, seed=1):
    import ciw

    ciw.seed(seed)
    net = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=lam)],
        service_distributions=[ciw.dists.Exponential(rate=mu)],
        number_of_servers=[4],
    )
    q = ciw.Simulation(net)
    t = time.perf_counter()
    q.simulate_until_max_customers(customers, method="Finish")
    wall = time.perf_counter() - t
    recs = q.get_all_records()
    warm = len(recs) // 10
    soj = [r.waiting_time + r.service_time for r in recs[warm:]]
    return len(recs), wall, statistics.fmean(soj)


def mm4_simpy(lam, mu, customers, seed=1):
    import simpy

    rng = random.Random(seed)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=4)
    soj = []

    def customer(env):
        t0 = env.now
        with servers.request() as req:
            yield req
            yield env.timeout(rng.expovariate(mu))
        soj.append(env.now - t0)

    def source(env):
        for _ in range(customers):
            yield env.timeout(rng.expovariate(lam))
            env.process(customer(env))

    env.process(source(env))
    t = time.perf_counter()
    env.run()
    wall = time.perf_counter() - t
    warm = len(soj) // 10
    return len(soj), wall, statistics.fmean(soj[warm:])


def peak_mb() -> float | None:
    """This process's peak RSS (VmHWM). Not ru_maxrss: on Linux a child's ru_maxrss starts
    from its parent's RSS at fork, which would hide small runs behind the benchmark's own."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def scenario_child(path: str, failure: str) -> None:
    doc = json.loads(Path(path).read_text())
    f = json.loads(failure)
    simulate(doc, engine="des", duration_s=2)  # compile / load the numba cache
    t, c = time.perf_counter(), time.process_time()
    r = simulate(doc, engine="des", seed=1, failures=[f])
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    print(
        json.dumps(
            {
                "wall_s": wall,
                "cpu_s": cpu,
                "peak_mb": peak_mb(),
                "requests": r["metrics"]["requests_simulated"],
                "peak_rps": r["traffic"]["baseline_rps"] * r["traffic"]["peak_multiplier"],
            }
        )
    )


FAILURES = {
    "url-shortener": {
        "mode": "node-down",
        "component_id": "api",
        "replicas": 1,
        "at_s": 20,
        "for_s": 20,
    },
    "twitter-feed": {
        "mode": "node-down",
        "component_id": "timeline",
        "replicas": 10,
        "at_s": 20,
        "for_s": 20,
    },
    # the largest run (~10 M requests): every replica in one zone fails, routers fail over
    "twitter-feed az-down": {
        "mode": "az-down",
        "region": "us-east",
        "az": "a",
        "at_s": 20,
        "for_s": 20,
    },
    "realtime-chat": {"mode": "az-down", "region": "us-east", "az": "a", "at_s": 20, "for_s": 20},
    "video-upload-processing": {
        "mode": "cache-cold",
        "component_id": "cdn",
        "warm_s": 20,
        "at_s": 20,
    },
    "ride-matching": {"mode": "traffic-surge", "multiplier": 1.5, "at_s": 20, "for_s": 20},
    "overloaded-checkout": {
        "mode": "dependency-lag",
        "component_id": "orders",
        "lag_ms": 100,
        "at_s": 20,
        "for_s": 20,
    },
}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        scenario_child(sys.argv[2], sys.argv[3])
        return
    quick = "--quick" in sys.argv
    simulate(chain(rps=1000), engine="des", duration_s=2)  # numba compile/cache load
    d50 = design_50()
    simulate(d50)
    times = []
    for _ in range(10):
        t = time.perf_counter()
        simulate(d50)
        times.append(time.perf_counter() - t)
    print(
        f"analytic, {len(d50['components'])} components: median "
        f"{statistics.median(times) * 1000:.1f} ms (target < 50 ms)"
    )

    doc = chain()
    t = time.perf_counter()
    r = simulate(doc, engine="des", seed=1, duration_s=20)
    wall = time.perf_counter() - t
    hops = r["metrics"]["requests_simulated"] * 5
    print(
        f"des, 5-hop chain: {hops:,} request-hops in {wall:.2f} s = "
        f"{hops / wall / 1e6:.2f} M request-hops/s (target >= 1 M/s, one core)"
    )

    lam, mu, n = 320.0, 100.0, 100_000  # M/M/4, rho 0.8, service 10 ms
    ref = Station(lam / 1000, 1000 / mu, 4, None).mean_sojourn / 1000
    rows = []
    for name, fn in (("sdc des", mm4_ours), ("Ciw", mm4_ciw), ("SimPy", mm4_simpy)):
        got, wall, mean = fn(lam, mu, n)
        rows.append((name, got, wall, got / wall, mean, abs(mean / ref - 1)))
    print(f"\nM/M/4, rho 0.8, {n:,} customers (Erlang C mean sojourn {ref * 1000:.3f} ms)")
    print(
        f"{'engine':<10}{'customers':>11}{'wall s':>9}{'customers/s':>14}"
        f"{'mean ms':>10}{'error':>8}{'speed-up':>10}"
    )
    ours = rows[0][3]
    for name, got, wall, cps, mean, err in rows:
        print(
            f"{name:<10}{got:>11,}{wall:>9.3f}{cps:>14,.0f}{mean * 1000:>10.3f}"
            f"{err * 100:>7.2f}%{ours / cps:>9.1f}x"
        )

    if quick:
        return
    print(
        "\nexample designs at peak traffic, 60 s + warm-up, with one failure (fresh process;"
        "\nrun = the measured simulate call, process = the whole child incl. imports/warm-up)"
    )
    print(
        f"{'design':<30}{'failure':<15}{'peak rps':>9}{'requests':>12}{'run wall s':>11}"
        f"{'run cpu s':>10}{'proc cpu s':>11}{'peak MB':>9}"
    )
    runs = []
    for p in sorted((ROOT / "docs" / "examples").glob("*.json")):
        runs += [(name, p) for name in FAILURES if name.split(" ")[0] == p.stem] or [(p.stem, p)]
    for name, p in runs:
        f = FAILURES.get(name, {"mode": "traffic-surge", "multiplier": 2, "at_s": 20})
        res, ru = run_child(p, f)
        print(
            f"{name:<30}{f['mode']:<15}{res['peak_rps']:>9,.0f}{res['requests']:>12,}"
            f"{res['wall_s']:>11.2f}{res['cpu_s']:>10.2f}{ru.ru_utime + ru.ru_stime:>11.2f}"
            f"{res['peak_mb'] or ru.ru_maxrss / 1024:>9.0f}"
        )


def run_child(path: Path, failure: dict):
    """One design in a fresh process; its own rusage (peak RSS, CPU) comes from os.wait4."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", str(path), json.dumps(failure)],
        stdout=subprocess.PIPE,
        text=True,
    )
    out = proc.stdout.read()
    proc.stdout.close()
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{path.stem}: child exited with {proc.returncode}")
    return json.loads(out.strip().splitlines()[-1]), ru


if __name__ == "__main__":
    main()
    _ = math
