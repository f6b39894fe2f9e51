#!/usr/bin/env python3
# py-bench.py: the Python baselines of the benchmarks (issue 6)
#
# Copyright 2026 The tiny-worker developers
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs one case with Python's own executors and prints one JSON line, as
# tw-bench and glib-bench do; scripts/bench runs them side by side. Each
# baseline is used the way its documentation shows: submit()/result(),
# apply_async()/get(), map() with its default or stated chunking, and
# the default start method. Pools are started and warmed up before the
# clock, except in the start-up case, which times exactly that. The tw-*
# cases run the same work through the Tw override (issue 12), for
# scripts/bench to set side by side with these.
#
#   py-bench.py CASE [--n=N] [--workers=W] [--spin=ITERATIONS]

import concurrent.futures
import json
import multiprocessing
import statistics
import sys
import time

MASK = (1 << 64) - 1


def square(x):
    return x * x


def spin(iterations):
    # The CPU-bound task of the scaling case, the same recurrence as the
    # C programs' bench_spin(); only its duration matters here.
    x = 1
    for _ in range(iterations):
        x = (x * 6364136223846793005 + 1442695040888963407) & MASK
    return x


def expected_sum(n):
    return (n - 1) * n * (2 * n - 1) // 6


def check(ok, what):
    if not ok:
        sys.exit('benchmark self-check failed: ' + what)


def report(opts, value, unit, seconds):
    print(json.dumps({'case': opts['case'], 'n': opts['n'], 'workers': opts['workers'],
                      'value': value, 'unit': unit, 'seconds': seconds}), flush=True)


def per_op(opts, start, end):
    report(opts, (end - start) * 1e9 / opts['n'], 'ns/op', end - start)


def tpe_throughput(opts):
    n = opts['n']
    with concurrent.futures.ThreadPoolExecutor(opts['workers']) as ex:
        list(ex.map(square, range(8)))
        start = time.perf_counter()
        futures = [ex.submit(square, i) for i in range(n)]
        total = sum(f.result() for f in futures)
        end = time.perf_counter()
    check(total == expected_sum(n), 'sum of squares')
    per_op(opts, start, end)


def ppe_throughput(opts):
    n = opts['n']
    with concurrent.futures.ProcessPoolExecutor(opts['workers']) as ex:
        list(ex.map(square, range(4 * opts['workers'])))
        start = time.perf_counter()
        futures = [ex.submit(square, i) for i in range(n)]
        total = sum(f.result() for f in futures)
        end = time.perf_counter()
    check(total == expected_sum(n), 'sum of squares')
    per_op(opts, start, end)


def mp_apply_async(opts):
    n = opts['n']
    with multiprocessing.Pool(opts['workers']) as pool:
        pool.map(square, range(4 * opts['workers']))
        start = time.perf_counter()
        results = [pool.apply_async(square, (i,)) for i in range(n)]
        total = sum(r.get() for r in results)
        end = time.perf_counter()
    check(total == expected_sum(n), 'sum of squares')
    per_op(opts, start, end)


def ppe_map(opts):
    n = opts['n']
    with concurrent.futures.ProcessPoolExecutor(opts['workers']) as ex:
        list(ex.map(square, range(4 * opts['workers'])))
        start = time.perf_counter()
        total = sum(ex.map(square, range(n), chunksize=256))
        end = time.perf_counter()
    check(total == expected_sum(n), 'sum of squares')
    per_op(opts, start, end)


def mp_map(opts):
    n = opts['n']
    with multiprocessing.Pool(opts['workers']) as pool:
        pool.map(square, range(4 * opts['workers']))
        start = time.perf_counter()
        total = sum(pool.map(square, range(n)))
        end = time.perf_counter()
    check(total == expected_sum(n), 'sum of squares')
    per_op(opts, start, end)


def ppe_startup(opts):
    # From nothing to the first result, n times; the value is the median.
    samples = []
    for _ in range(opts['n']):
        start = time.perf_counter()
        ex = concurrent.futures.ProcessPoolExecutor(opts['workers'])
        value = ex.submit(square, 3).result()
        samples.append(time.perf_counter() - start)
        check(value == 9, 'first result')
        ex.shutdown()
    report(opts, statistics.median(samples) * 1e9, 'ns/op', sum(samples))


def ppe_scaling(opts):
    n, iterations = opts['n'], opts['spin']
    expected = spin(iterations)
    with concurrent.futures.ProcessPoolExecutor(opts['workers']) as ex:
        list(ex.map(spin, [0] * (4 * opts['workers'])))
        start = time.perf_counter()
        futures = [ex.submit(spin, iterations) for _ in range(n)]
        check(all(f.result() == expected for f in futures), 'spin result')
        end = time.perf_counter()
    report(opts, end - start, 's', end - start)


def calibrate_spin(opts):
    # Iterations of spin() that take --n microseconds here.
    probe = 20000
    spin(probe * 10)
    samples = []
    for _ in range(7):
        start = time.perf_counter()
        spin(probe)
        samples.append(time.perf_counter() - start)
    report(opts, int(probe * opts['n'] / 1e6 / statistics.median(samples)), 'iterations', 0)


def tw_troupe(opts, mode, worker=False):
    if worker:
        troupe = Tw.Troupe(worker=SquareWorker, n_workers=opts['workers'], mode=mode)
    else:
        troupe = Tw.Troupe(func=square, n_workers=opts['workers'], mode=mode)
    # Warm up as the baselines do, with enough work that every worker
    # (process) has started before the clock.
    check(sum(troupe.map(range(200000))) == expected_sum(200000), 'warm-up')
    return troupe


def tw_throughput(opts, mode, worker=False):
    n = opts['n']
    with tw_troupe(opts, mode, worker) as troupe:
        start = time.perf_counter()
        futures = [troupe.submit(i) for i in range(n)]
        total = sum(f.result() for f in futures)
        end = time.perf_counter()
    check(total == expected_sum(n), 'sum of squares')
    per_op(opts, start, end)


def tw_thread_throughput(opts):
    tw_throughput(opts, 'thread')


def tw_thread_worker_throughput(opts):
    tw_throughput(opts, 'thread', worker=True)


def tw_process_throughput(opts):
    tw_throughput(opts, 'process')


def tw_process_map(opts):
    n = opts['n']
    with tw_troupe(opts, 'process') as troupe:
        start = time.perf_counter()
        total = sum(troupe.map(range(n)))
        end = time.perf_counter()
    check(total == expected_sum(n), 'sum of squares')
    per_op(opts, start, end)


CASES = {
    'tpe-throughput': tpe_throughput,
    'ppe-throughput': ppe_throughput,
    'mp-apply-async': mp_apply_async,
    'ppe-map': ppe_map,
    'mp-map': mp_map,
    'ppe-startup': ppe_startup,
    'ppe-scaling': ppe_scaling,
    'calibrate-spin': calibrate_spin,
    'tw-thread-throughput': tw_thread_throughput,
    'tw-thread-worker-throughput': tw_thread_worker_throughput,
    'tw-process-throughput': tw_process_throughput,
    'tw-process-map': tw_process_map,
}

# The tiny-worker cases need PyGObject and the override; a process troupe
# re-runs this script as each worker, which Tw.init() turns into one.
if len(sys.argv) > 1 and sys.argv[1].startswith('tw-'):
    import gi
    gi.require_version('Tw', '1')
    from gi.repository import Tw

    class SquareWorker(Tw.Worker):
        def work(self, x):
            return x * x

    Tw.init()


def main(argv):
    if len(argv) < 2 or argv[1] not in CASES:
        sys.exit('Usage: py-bench.py CASE [--n=N] [--workers=W] [--spin=I]\nCases: '
                 + ' '.join(CASES))
    opts = {'case': argv[1], 'n': 1000, 'workers': 2, 'spin': 0}
    for arg in argv[2:]:
        key, sep, value = arg.partition('=')
        if not sep or key[2:] not in ('n', 'workers', 'spin') or not value.isdigit():
            sys.exit('py-bench.py: bad argument ' + repr(arg))
        opts[key[2:]] = int(value)
    CASES[argv[1]](opts)


if __name__ == '__main__':
    main(sys.argv)
