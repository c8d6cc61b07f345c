"""Compiled inner loops of the discrete-event engine (numba, cached on disk).

Random numbers for per-request decisions are counter-based: u = hash(key, request id), so a
request's service time at a component, its route and its cache hit do not depend on what
happened to other requests (common random numbers across design versions).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

OK, REJECTED, FAILED, TIMEOUT, NOROUTE = 0, 1, 2, 3, 4


@njit(cache=True, inline="always")
def _mix(x):
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True)
def hash_uniform(idx, key):
    """Uniform(0,1) per request id for a stream key (splitmix64 of key + id)."""
    n = idx.shape[0]
    out = np.empty(n)
    k = np.uint64(key)
    for i in range(n):
        x = _mix(k + np.uint64(idx[i]) * np.uint64(0x9E3779B97F4A7C15))
        out[i] = (np.float64(x >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)
    return out


@njit(cache=True)
def service_times(idx, key, mean, dist, cv):
    """Service times (ms) per request: dist 0 exponential, 1 deterministic, 2 lognormal."""
    n = idx.shape[0]
    out = np.empty(n)
    if mean <= 0.0:
        out[:] = 0.0
        return out
    if dist == 1 or (dist == 2 and cv <= 0.0):
        out[:] = mean
        return out
    k = np.uint64(key)
    s2 = math.log(1.0 + cv * cv)
    mu = math.log(mean) - s2 / 2.0
    sd = math.sqrt(s2)
    for i in range(n):
        x = _mix(k + np.uint64(idx[i]) * np.uint64(0x9E3779B97F4A7C15))
        u = (np.float64(x >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)
        if dist == 0:
            out[i] = -mean * math.log(u)
        else:
            y = _mix(x + np.uint64(0x632BE59BD9B4E019))
            u2 = (np.float64(y >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)
            z = math.sqrt(-2.0 * math.log(u)) * math.cos(2.0 * math.pi * u2)
            out[i] = math.exp(mu + sd * z)
    return out


@njit(cache=True, inline="always")
def _svc_one(i, k, mean, dist, lmu, lsd):
    """Service time of request i at a component (counter-based, like service_times)."""
    if mean <= 0.0:
        return 0.0
    if dist == 1:
        return mean
    x = _mix(k + np.uint64(i) * np.uint64(0x9E3779B97F4A7C15))
    u = (np.float64(x >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)
    if dist == 0:
        return -mean * math.log(u)
    y = _mix(x + np.uint64(0x632BE59BD9B4E019))
    u2 = (np.float64(y >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)
    z = math.sqrt(-2.0 * math.log(u)) * math.cos(2.0 * math.pi * u2)
    return math.exp(lmu + lsd * z)


@njit(cache=True)
def _heap_push(h, n, v):
    i = n
    h[i] = v
    while i > 0:
        p = (i - 1) >> 1
        if h[p] <= h[i]:
            break
        h[p], h[i] = h[i], h[p]
        i = p


@njit(cache=True)
def _heap_replace_top(h, n, v):
    h[0] = v
    i = 0
    while True:
        a = 2 * i + 1
        if a >= n:
            break
        b = a + 1
        m = a
        if b < n and h[b] < h[a]:
            m = b
        if h[i] <= h[m]:
            break
        h[i], h[m] = h[m], h[i]
        i = m


@njit(cache=True)
def _heap_pop(h, n):
    """Remove the top of a min-heap of size n (returns nothing; size becomes n - 1)."""
    n -= 1
    if n > 0:
        _heap_replace_top(h, n, h[n])


@njit(cache=True)
def fcfs_segments(
    arr,
    idx,
    svc_key,
    svc_mean,
    svc_dist,
    svc_cv,
    seg_ptr,
    servers,
    qlimit,
    down_ptr,
    down_t0,
    down_t1,
    ph_ptr,
    ph_t0,
    ph_t1,
    ph_m,
    out_pos,
    start,
    dep,
    status,
):
    """FCFS multi-server stations, one per segment of `arr` (sorted by time within segment).

    servers[s], qlimit[s] (-1 = unbounded) per segment. Down intervals (instance dead):
    arrivals inside are FAILED at arrival; requests waiting or in service when it starts
    are FAILED at its start. Phantom intervals take ph_m servers away over [t0, t1) (used
    for pooled stations that lose some replicas). Returns start, dep, status.

    The heap holds the free times of committed servers only (at most c), so a lightly
    loaded many-server station costs O(log busy) per request, not O(log c).
    """
    nseg = seg_ptr.shape[0] - 1
    maxc = 1
    maxlen = 1
    for s in range(nseg):
        if servers[s] > maxc:
            maxc = servers[s]
        if seg_ptr[s + 1] - seg_ptr[s] > maxlen:
            maxlen = seg_ptr[s + 1] - seg_ptr[s]
    acc_starts = np.empty(maxlen)
    kk = np.uint64(svc_key)
    s2 = math.log(1.0 + svc_cv * svc_cv)
    lmu = math.log(svc_mean) - s2 / 2.0 if svc_mean > 0 else 0.0
    lsd = math.sqrt(s2)
    if svc_dist == 2 and svc_cv <= 0.0:
        svc_dist = 1
    heap = np.empty(maxc)
    for s in range(nseg):
        a0, a1 = seg_ptr[s], seg_ptr[s + 1]
        c = servers[s]
        nb = 0
        q = qlimit[s]
        nacc = 0
        qp = 0
        d = down_ptr[s]
        dend = down_ptr[s + 1]
        p = ph_ptr[s]
        pend = ph_ptr[s + 1]
        for i in range(a0, a1):
            o = out_pos[i]
            a = arr[o]
            while nb > 0 and heap[0] <= a:
                _heap_pop(heap, nb)
                nb -= 1
            # phantom capacity losses that began before this arrival
            while p < pend and ph_t0[p] <= a:
                m = min(ph_m[p], c)
                for _ in range(m):
                    if nb < c:
                        _heap_push(heap, nb, ph_t1[p])
                        nb += 1
                    elif heap[0] < ph_t1[p]:
                        _heap_replace_top(heap, nb, ph_t1[p])
                p += 1
            while d < dend and down_t1[d] <= a:
                d += 1
            if d < dend and down_t0[d] <= a:
                status[o] = FAILED
                start[o] = a
                dep[o] = a
                continue
            while qp < nacc and acc_starts[qp] <= a:
                qp += 1
            idle = nb < c
            st = a if idle else heap[0]
            if q >= 0 and st > a and nacc - qp >= q:
                status[o] = REJECTED
                start[o] = a
                dep[o] = a
                continue
            fin = st + _svc_one(idx[o], kk, svc_mean, svc_dist, lmu, lsd)
            if d < dend and fin > down_t0[d]:
                t0 = down_t0[d]
                status[o] = FAILED
                start[o] = st if st < t0 else t0
                dep[o] = t0
                if st < t0:
                    if idle:
                        _heap_push(heap, nb, t0)
                        nb += 1
                    else:
                        _heap_replace_top(heap, nb, t0)
                continue
            if idle:
                _heap_push(heap, nb, fin)
                nb += 1
            else:
                _heap_replace_top(heap, nb, fin)
            acc_starts[nacc] = st
            nacc += 1
            start[o] = st
            dep[o] = fin
    return start, dep, status


@njit(cache=True)
def clipped_sum(t0, t1, lo, hi):
    """Sum over i of the length of [t0[i], t1[i]) inside [lo, hi)."""
    s = 0.0
    for i in range(t0.shape[0]):
        a = t0[i] if t0[i] > lo else lo
        b = t1[i] if t1[i] < hi else hi
        if b > a:
            s += b - a
    return s


@njit(cache=True)
def per_second_busy(t0, t1, n_sec, sec_ms):
    """Time-in-interval per second bucket (ms) for intervals [t0, t1) (ms, window from 0)."""
    out = np.zeros(n_sec)
    for i in range(t0.shape[0]):
        a = max(t0[i], 0.0)
        b = min(t1[i], n_sec * sec_ms)
        while b > a:
            k = int(a // sec_ms)
            if k >= n_sec:
                break
            edge = (k + 1) * sec_ms
            e = b if b < edge else edge
            out[k] += e - a
            a = e
    return out


@njit(cache=True)
def poisson_arrivals(rates, slot_ms, t_start, key, t_end):
    """Arrival times (ms) before t_end of a Poisson process with a piecewise-constant rate.

    rates[k] is the rate (per ms) in slot k starting at t_start + k*slot_ms. Exponential
    gaps come from a counter-based stream `key`. Returns a view of the first n slots of a
    buffer sized for the expected count (no copy).
    """
    kk = np.uint64(key)
    total = 0.0
    for k in range(rates.shape[0]):
        total += rates[k] * slot_ms
    cap = int(total + 10.0 * math.sqrt(total + 1.0) + 100.0)
    out = np.empty(cap)
    n = 0
    u_i = 0
    t = t_start
    k = 0
    nk = rates.shape[0]
    while k < nk and n < cap:
        r = rates[k]
        end = t_start + (k + 1) * slot_ms
        if r <= 0.0:
            t = end
            k += 1
            continue
        x = _mix(kk + np.uint64(u_i) * np.uint64(0x9E3779B97F4A7C15))
        u = (np.float64(x >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)
        u_i += 1
        g = -math.log(u) / r
        if t + g >= end:
            # memoryless: restart at the slot edge with the next slot's rate
            t = end
            k += 1
            continue
        t += g
        if t >= t_end:
            break
        out[n] = t
        n += 1
    return out[:n]


@njit(cache=True)
def visit_update(done, failed, fail_comp, idx, dep, status, cum_by_region, region, ci):
    """A sync visit finished: response end = max(end, dep + return path); first failure wins."""
    for i in range(idx.shape[0]):
        r = idx[i]
        t = dep[i] + cum_by_region[region[r]]
        if t > done[r]:
            done[r] = t
        if status[i] != 0 and failed[r] == 0:
            failed[r] = status[i]
            fail_comp[r] = ci


@njit(cache=True)
def window_stats(ta, start, dep, status, opv, D, n_sec, sec_ms):
    """One pass over a component's requests: counts, areas and per-second arrays.

    Returns (scalars[8], soj, sec_arrivals, sec_errors, sec_soj, sec_busy) with scalars =
    arrivals, reads, ok, errors, wait_sum, busy_ms, queue_area, system_area.
    """
    n = ta.shape[0]
    sc = np.zeros(8)
    soj = np.empty(n)
    ns = 0
    sec_a = np.zeros(n_sec)
    sec_e = np.zeros(n_sec)
    sec_s = np.zeros(n_sec)
    sec_b = np.zeros(n_sec)
    end = n_sec * sec_ms
    for i in range(n):
        a = ta[i]
        ok = status[i] == 0
        inw = a >= 0.0 and a < D
        if inw:
            k = int(a // sec_ms)
            if k >= n_sec:
                k = n_sec - 1
            sc[0] += 1
            sec_a[k] += 1
            if opv[i] == 0:
                sc[1] += 1
            if ok:
                sc[2] += 1
                s = dep[i] - a
                soj[ns] = s
                ns += 1
                sc[4] += start[i] - a
                sec_s[k] += s
            else:
                sc[3] += 1
                sec_e[k] += 1
        if ok:
            st = start[i]
            d = dep[i]
            # busy, queue and system areas clipped to [0, D)
            lo = st if st > 0.0 else 0.0
            hi = d if d < D else D
            if hi > lo:
                sc[5] += hi - lo
                x = lo
                while hi > x:
                    kk = int(x // sec_ms)
                    if kk >= n_sec:
                        break
                    edge = (kk + 1) * sec_ms
                    e = hi if hi < edge else edge
                    if e > end:
                        e = end
                    sec_b[kk] += e - x
                    x = e
            lo = a if a > 0.0 else 0.0
            hi = st if st < D else D
            if hi > lo:
                sc[6] += hi - lo
            hi = d if d < D else D
            if hi > lo:
                sc[7] += hi - lo
    return sc, soj[:ns], sec_a, sec_e, sec_s, sec_b


@njit(cache=True)
def run_station(
    ta,
    idx,
    inst,
    pre,
    n_seg,
    key,
    mean,
    dist,
    cv,
    servers,
    qlimit,
    d_ptr,
    d0,
    d1,
    p_ptr,
    p0,
    p1,
    pm,
):
    """Group time-sorted requests by replica (counting sort), draw their service times and run
    the FCFS kernel; results come back in input order. Requests with pre != 0 are skipped."""
    n = ta.shape[0]
    seg_ptr = np.zeros(n_seg + 1, dtype=np.int64)
    for i in range(n):
        if pre[i] == 0:
            seg_ptr[inst[i] + 1] += 1
    for s in range(n_seg):
        seg_ptr[s + 1] += seg_ptr[s]
    m = seg_ptr[n_seg]
    pos = seg_ptr[:-1].copy()
    perm = np.empty(m, dtype=np.int32)
    for i in range(n):
        if pre[i] == 0:
            j = inst[i]
            perm[pos[j]] = i
            pos[j] += 1
    start = ta.copy()
    dep = ta.copy()
    status = pre.copy()
    fcfs_segments(
        ta,
        idx,
        key,
        mean,
        dist,
        cv,
        seg_ptr,
        servers,
        qlimit,
        d_ptr,
        d0,
        d1,
        p_ptr,
        p0,
        p1,
        pm,
        perm,
        start,
        dep,
        status,
    )
    return start, dep, status


# --- memory-lean helpers: each replaces a numpy expression that built several temporaries the
# size of the request arrays, and gives bit-identical results to that expression ---------------


@njit(cache=True)
def pick_category(n, key, cum, out):
    """out[i] = min(searchsorted(cum, u_i, side="right"), len(cum) - 1), u_i = hash(key, i)."""
    kk = np.uint64(key)
    m = cum.shape[0]
    for i in range(n):
        x = _mix(kk + np.uint64(i) * np.uint64(0x9E3779B97F4A7C15))
        u = (np.float64(x >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)
        j = 0
        while j < m and cum[j] <= u:
            j += 1
        out[i] = j if j < m - 1 else m - 1
    return out


@njit(cache=True)
def indices_eq(a, k):
    """np.nonzero(a == k)[0] as int32."""
    c = 0
    for i in range(a.shape[0]):
        if a[i] == k:
            c += 1
    out = np.empty(c, dtype=np.int32)
    c = 0
    for i in range(a.shape[0]):
        if a[i] == k:
            out[c] = i
            c += 1
    return out


@njit(cache=True)
def dispatch_range(inst, pre, opv, a, b, op, healthy, rnd, c0, key, idx, noroute):
    """Replica choice for requests a..b-1 of op `op` (-1: every op) among `healthy`.

    Round robin continues from counter c0 (returns the new counter); random uses
    u = hash(key, request id). No healthy replica: pre = noroute.
    """
    nh = healthy.shape[0]
    kk = np.uint64(key)
    c = c0
    for i in range(a, b):
        if op >= 0 and opv[i] != op:
            continue
        if nh == 0:
            pre[i] = noroute
            inst[i] = 0
            continue
        if rnd:
            x = _mix(kk + np.uint64(idx[i]) * np.uint64(0x9E3779B97F4A7C15))
            u = (np.float64(x >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)
            j = np.int64(u * nh)
            inst[i] = healthy[j if j < nh - 1 else nh - 1]
        else:
            inst[i] = healthy[c % nh]
            c += 1
    return c


@njit(cache=True)
def apply_timeout(ta, ts, dep, status, timeout):
    """Requests whose caller-observed time exceeds `timeout` become TIMEOUT at the deadline."""
    for i in range(ta.shape[0]):
        if status[i] == OK and (dep[i] - ts[i]) + (ta[i] - ts[i]) > timeout:
            status[i] = TIMEOUT
            dep[i] = ts[i] + timeout - (ta[i] - ts[i])


@njit(cache=True)
def hop_arrivals(dep, idx, region, hop, uniform):
    """Arrival time at the next component: dep + hop latency by the request's origin region."""
    out = np.empty(dep.shape[0])
    if uniform:
        h0 = hop[0]
        for i in range(dep.shape[0]):
            out[i] = dep[i] + h0
    else:
        for i in range(dep.shape[0]):
            out[i] = dep[i] + hop[region[idx[i]]]
    return out


@njit(cache=True)
def hit_misses(idx, dep, key, h):
    """Requests whose hash(key, id) >= hit ratio h (cache misses): their idx and dep."""
    kk = np.uint64(key)
    n = idx.shape[0]
    keep = np.empty(n, dtype=np.bool_)
    c = 0
    for i in range(n):
        x = _mix(kk + np.uint64(idx[i]) * np.uint64(0x9E3779B97F4A7C15))
        u = (np.float64(x >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)
        keep[i] = u >= h
        if keep[i]:
            c += 1
    oi = np.empty(c, dtype=idx.dtype)
    od = np.empty(c)
    c = 0
    for i in range(n):
        if keep[i]:
            oi[c] = idx[i]
            od[c] = dep[i]
            c += 1
    return oi, od


@njit(cache=True)
def route_pick(idx, key, w, avail):
    """Router choice among K <= 8 weighted alternatives, skipping unavailable ones (all
    unavailable: choose as usual). Same arithmetic as the numpy cumsum / compare / sum."""
    n = idx.shape[0]
    K = w.shape[0]
    kk = np.uint64(key)
    out = np.empty(n, dtype=np.int16)
    ww = np.empty(K)
    for i in range(n):
        x = _mix(kk + np.uint64(idx[i]) * np.uint64(0x9E3779B97F4A7C15))
        u = (np.float64(x >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)
        tot = 0.0
        for j in range(K):
            ww[j] = w[j] if avail[i, j] else 0.0
            tot += ww[j]
        if tot == 0:
            for j in range(K):
                ww[j] = w[j]
        s = 0.0
        for j in range(K):
            s += ww[j]
        cs = 0.0
        p = 0
        for j in range(K):
            cs += ww[j]
            if u >= cs / s:
                p += 1
        out[i] = p if p < K - 1 else K - 1
    return out


@njit(cache=True)
def ok_only(idx, dep, status):
    """idx[status == OK], dep[status == OK] in one pass."""
    c = 0
    for i in range(status.shape[0]):
        if status[i] == OK:
            c += 1
    oi = np.empty(c, dtype=idx.dtype)
    od = np.empty(c)
    c = 0
    for i in range(status.shape[0]):
        if status[i] == OK:
            oi[c] = idx[i]
            od[c] = dep[i]
            c += 1
    return oi, od


@njit(cache=True)
def completions_per_sec(done, ok, D, n_sec, sec_ms):
    """Per second of [0, D): requests with ok that completed in that second."""
    out = np.zeros(n_sec, dtype=np.int64)
    for i in range(done.shape[0]):
        if ok[i] and done[i] < D:
            k = int(done[i] // sec_ms)
            if k < n_sec:
                out[k] += 1
    return out
