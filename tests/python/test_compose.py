#!/usr/bin/python3
# test_compose.py: composing work from Python: then/catch/finally_, all,
# any and first, as-completed order, map in both modes, progress and
# backpressure
#
# Copyright 2026 The tiny-worker developers
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import gc
import os
import threading
import time
import traceback
import unittest

import taptest
from gi.repository import Gio, GLib, Tw, TwTest

TIMEOUT = 30
MAIN_THREAD_ID = threading.get_native_id()


def square(x):
    if x < 0:
        raise ValueError('negative input %d' % x)
    return x * x


def total(values):
    return sum(values)


def nap_ms(ms):
    """Sleeps @ms milliseconds and returns them; for 'pid', returns the
    worker's process id after 100 ms."""
    if ms == 'pid':
        time.sleep(0.1)
        return os.getpid()
    time.sleep(ms / 1000)
    return ms


def report_half(message):
    # Late enough that the test has connected to notify::progress.
    time.sleep(0.2)
    Tw.report_progress(0.5, message)
    time.sleep(0.3)
    return 'done'


Tw.init()


def run_until_settled(future):
    """Runs a main loop until @future settles, with a deadline."""
    loop = GLib.MainLoop()
    future.wait_async(None, lambda *_args: loop.quit())
    timeout_id = GLib.timeout_add_seconds(TIMEOUT, loop.quit)
    loop.run()
    GLib.source_remove(timeout_id)
    return future.result(0)


def start_all_workers(troupe, n_workers):
    """Makes sure all @n_workers worker processes are up, so that later
    tasks start together."""
    deadline = time.monotonic() + TIMEOUT
    pids = set()
    while len(pids) < n_workers and time.monotonic() < deadline:
        pids.update(troupe.map_unordered(['pid'] * n_workers))
    return pids


class Continuations(unittest.TestCase):
    def setUp(self):
        self.troupe = Tw.Troupe(func=square, n_workers=2)

    def tearDown(self):
        self.troupe.shutdown(Tw.ShutdownMode.DRAIN)

    def test_then_runs_in_the_main_context_and_chains_a_submit(self):
        calls = []

        def next_step(future):
            calls.append((threading.get_native_id(), future.result()))
            return self.troupe.submit(future.result() + 1)

        future = self.troupe.submit(3).then(next_step)
        self.assertEqual(calls, [])
        self.assertEqual(run_until_settled(future), 100)
        self.assertEqual(calls, [(MAIN_THREAD_ID, 9)])

    def test_result_runs_continuations_without_a_main_loop(self):
        future = self.troupe.submit(3).then(lambda f: self.troupe.submit(f.result() + 1))
        self.assertEqual(future.result(TIMEOUT), 100)

    def test_then_results(self):
        submit = self.troupe.submit
        self.assertEqual(submit(2).then(lambda f: f.result() + 0.5).result(TIMEOUT), 4.5)
        self.assertEqual(submit(2).then(lambda f: None).result(TIMEOUT), 4)
        self.assertIsNone(submit(2).then(lambda f: Tw.to_variant(None)).result(TIMEOUT))
        self.assertEqual(submit(2).then(lambda f: GLib.Variant('u', 7)).result_variant(TIMEOUT),
                         GLib.Variant('u', 7))
        self.assertEqual(submit(2).then(lambda f, a, b: (a, b), 'a', 'b').result(TIMEOUT),
                         ('a', 'b'))
        self.assertEqual(submit(2).and_then(lambda f: 'and').result(TIMEOUT), 'and')

    def test_then_passes_failures_on(self):
        calls = []
        future = self.troupe.submit(-1).then(lambda f: calls.append(f))
        with self.assertRaises(ValueError) as caught:
            future.result(TIMEOUT)
        self.assertEqual(caught.exception.args, ('negative input -1',))
        self.assertEqual(calls, [])

    def test_exception_in_a_callback_fails_the_chain(self):
        future = self.troupe.submit(2).then(lambda f: f.result() / 0)
        try:
            future.result(TIMEOUT)
        except ZeroDivisionError as exc:
            # Before assertRaises(), which drops the traceback.
            self.assertIn('lambda', ''.join(traceback.format_tb(exc.__traceback__)))
        with self.assertRaises(ZeroDivisionError):
            future.result(TIMEOUT)

        error = GLib.Error('kept', 'tw-test-quark', 5)

        def fail(_future):
            raise error
        with self.assertRaises(GLib.Error) as caught:
            self.troupe.submit(2).then(fail).result(TIMEOUT)
        self.assertEqual((caught.exception.domain, caught.exception.code,
                          caught.exception.message), ('tw-test-quark', 5, 'kept'))

    def test_catch(self):
        recovered = self.troupe.submit(-1).catch(lambda f: self.troupe.submit(5))
        self.assertEqual(recovered.result(TIMEOUT), 25)
        self.assertEqual(self.troupe.submit(3).catch(lambda f: 'unused').result(TIMEOUT), 9)
        with self.assertRaises(ValueError):
            self.troupe.submit(-1).catch(lambda f: None).result(TIMEOUT)

    def test_finally(self):
        seen = []

        def note(future):
            seen.append(future.get_state())
        ok = self.troupe.submit(3).finally_(note)
        failed = self.troupe.submit(-3).finally_(note)
        self.assertEqual(ok.result(TIMEOUT), 9)
        with self.assertRaises(ValueError):
            failed.result(TIMEOUT)
        self.assertEqual(sorted(seen), [Tw.FutureState.SUCCEEDED, Tw.FutureState.FAILED])
        self.assertEqual(self.troupe.submit(-3).finally_(lambda f: 'over').result(TIMEOUT),
                         'over')


class Gathering(unittest.TestCase):
    def test_all(self):
        with Tw.Troupe(func=square, n_workers=3) as troupe:
            everything = Tw.Future.all(troupe.submit(i) for i in range(5))
            self.assertEqual(everything.result(TIMEOUT), (0, 1, 4, 9, 16))
            self.assertEqual(Tw.Future.all([]).result(TIMEOUT), ())
            with self.assertRaises(ValueError):
                Tw.Future.all([troupe.submit(1), troupe.submit(-1)]).result(TIMEOUT)
            with self.assertRaises(TypeError):
                Tw.Future.all([1, 2])

    def test_all_keeps_values_passed_by_reference(self):
        objects = [object() for _ in range(3)]
        with Tw.Troupe(func=lambda x: x, n_workers=2) as troupe:
            everything = Tw.Future.all([troupe.submit(obj) for obj in objects])
            # Serialising the tuple drops its children, which alone held
            # the inputs' frames once their futures were gone.
            everything.result_variant(TIMEOUT).get_data_as_bytes()
            gc.collect()
            self.assertEqual([id(value) for value in everything.result(0)],
                             [id(obj) for obj in objects])

    def test_submitting_all_chains_a_task_on_them(self):
        with Tw.Troupe(func=square, n_workers=3) as squarer, \
                Tw.Troupe(func=total, n_workers=1, mode='process') as adder:
            future = adder.submit(Tw.Future.all([squarer.submit(i) for i in range(4)]))
            self.assertEqual(future.result(TIMEOUT), 14)

    def test_all_of_continuations(self):
        with Tw.Troupe(func=square, n_workers=2) as troupe:
            futures = [troupe.submit(i).then(lambda f: str(f.result())) for i in range(3)]
            self.assertEqual(Tw.Future.all(futures).result(TIMEOUT), ('0', '1', '4'))

    def test_any_and_first(self):
        with Tw.Troupe(func=nap_ms, n_workers=3) as troupe:
            failed = Tw.Future.new_for_error(GLib.Error('no', 'tw-test-quark', 1))
            self.assertEqual(Tw.Future.any([failed, troupe.submit(300),
                                            troupe.submit(0)]).result(TIMEOUT), 0)
            with self.assertRaises(GLib.Error):
                Tw.Future.any([failed]).result(TIMEOUT)
            self.assertEqual(Tw.Future.first([troupe.submit(300),
                                              Tw.Future.new_for_value('now')]).result(TIMEOUT),
                             'now')
            with self.assertRaises(GLib.Error):
                Tw.Future.first([troupe.submit(300), failed]).result(TIMEOUT)


class CompletionOrder(unittest.TestCase):
    def test_map_unordered_yields_values_as_they_come(self):
        with Tw.Troupe(func=nap_ms, n_workers=3) as troupe:
            results = troupe.map_unordered([600, 0, 300])
            self.assertIsInstance(results.as_completed, Tw.AsCompleted)
            self.assertEqual(list(results), [0, 300, 600])

    def test_map_unordered_goes_on_after_an_error(self):
        with Tw.Troupe(func=square, n_workers=2) as troupe:
            results = troupe.map_unordered([1, -1, 2])
            values, errors = [], []
            for _ in range(3):
                try:
                    values.append(next(results))
                except ValueError as error:
                    errors.append(error.args)
            with self.assertRaises(StopIteration):
                next(results)
        self.assertEqual(sorted(values), [1, 4])
        self.assertEqual(errors, [('negative input -1',)])

    def test_as_completed_in_process_mode(self):
        with Tw.Troupe(func=nap_ms, n_workers=3, mode='process') as troupe:
            # Start the worker processes first, or a slow start could
            # reorder the tasks.
            self.assertEqual(len(start_all_workers(troupe, 3)), 3)
            futures = [troupe.submit(ms) for ms in (600, 0, 300)]
            done = list(Tw.as_completed(futures, timeout=TIMEOUT))
            self.assertEqual(sorted(done, key=futures.index), futures)
            self.assertEqual([future.result(0) for future in done], [0, 300, 600])

    def test_as_completed_timeout(self):
        with Tw.Troupe(func=nap_ms, n_workers=1) as troupe:
            results = Tw.as_completed([troupe.submit(600)], timeout=0.05)
            with self.assertRaises(Tw.FutureTimeoutError):
                next(results)
            self.assertEqual(results.as_completed.get_n_pending(), 1)


class Map:
    mode = None

    def test_map(self):
        with Tw.Troupe(func=square, n_workers=2, mode=self.mode) as troupe:
            self.assertEqual(list(troupe.map(range(50))), [i * i for i in range(50)])
            self.assertEqual(list(troupe.map([])), [])
            self.assertEqual(troupe.map_future(range(3)).result(TIMEOUT), [0, 1, 4])

    def test_map_raises_the_failing_element(self):
        with Tw.Troupe(func=square, n_workers=2, mode=self.mode) as troupe:
            with self.assertRaises(ValueError) as caught:
                list(troupe.map([1, 2, -7, 4]))
            self.assertEqual(caught.exception.args, ('negative input -7',))

    def test_map_of_a_c_worker(self):
        with Tw.Troupe(worker=TwTest.CWorker, worker_kwargs={'factor': 2}, n_workers=2,
                       mode=self.mode) as troupe:
            self.assertEqual([value[0] for value in troupe.map(range(6))],
                             [2 * i * i for i in range(6)])
            with self.assertRaises(GLib.Error) as caught:
                list(troupe.map([1, -1]))
            self.assertTrue(caught.exception.matches(Gio.io_error_quark(),
                                                     Gio.IOErrorEnum.INVALID_ARGUMENT))


class MapInThreads(Map, unittest.TestCase):
    mode = Tw.TroupeMode.THREAD

    def test_map_of_a_lambda(self):
        with Tw.Troupe(func=lambda x: -x, n_workers=2) as troupe:
            self.assertEqual(list(troupe.map((1, 2))), [-1, -2])

    def test_map_future_passes_values_by_reference(self):
        objects = [object() for _ in range(40)]
        with Tw.Troupe(func=lambda x: x, n_workers=2) as troupe:
            future = troupe.map_future(objects)
            gc.collect()
            self.assertEqual([id(value) for value in future.result(TIMEOUT)],
                             [id(obj) for obj in objects])
            self.assertEqual(troupe.map_future([]).result(TIMEOUT), [])

    def test_map_future_raises_the_same_exception(self):
        with Tw.Troupe(func=square, n_workers=2) as troupe:
            future = troupe.map_future([3, -2, 5])
            with self.assertRaises(ValueError) as first:
                future.result(TIMEOUT)
            with self.assertRaises(ValueError) as second:
                future.result(TIMEOUT)
            self.assertIs(first.exception, second.exception)
            self.assertEqual(first.exception.args, ('negative input -2',))

    def test_cancelling_map_future_cancels_its_chunks(self):
        release = threading.Event()

        def wait_for_release(x):
            release.wait(TIMEOUT)
            return x
        with Tw.Troupe(func=wait_for_release, n_workers=1) as troupe:
            future = troupe.map_future(range(6))
            # One chunk per item; the first may have started and waits.
            self.assertGreaterEqual(troupe.get_n_queued(), 5)
            self.assertTrue(future.cancel())
            deadline = time.monotonic() + TIMEOUT
            while troupe.get_n_queued() and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertEqual(troupe.get_n_queued(), 0)
            release.set()
            with self.assertRaises(Tw.FutureCancelledError):
                future.result(TIMEOUT)

    def test_map_future_chains_into_a_process_troupe(self):
        with Tw.Troupe(func=square, n_workers=2) as squarer, \
                Tw.Troupe(func=total, n_workers=1, mode='process') as adder:
            self.assertEqual(adder.submit(squarer.map_future(range(5))).result(TIMEOUT), 30)


class MapInProcesses(Map, unittest.TestCase):
    mode = Tw.TroupeMode.PROCESS

    def test_map_of_a_lambda_is_refused(self):
        with self.assertRaises(ValueError):
            Tw.Troupe(func=lambda x: -x, mode=self.mode)


class Progress:
    mode = None

    def test_progress_is_notified(self):
        with Tw.Troupe(func=report_half, n_workers=1, mode=self.mode) as troupe:
            future = troupe.submit('halfway')
            seen = []
            future.connect('notify::progress',
                           lambda f, _pspec: seen.append((threading.get_native_id(),
                                                          f.progress, f.progress_message)))
            self.assertEqual(run_until_settled(future), 'done')
        self.assertIn((MAIN_THREAD_ID, 0.5, 'halfway'), seen)
        self.assertEqual((future.progress, future.progress_message), (0.5, 'halfway'))

    def test_no_progress(self):
        with Tw.Troupe(func=square, n_workers=1, mode=self.mode) as troupe:
            future = troupe.submit(2)
            self.assertEqual(future.result(TIMEOUT), 4)
        self.assertEqual((future.progress, future.progress_message), (0.0, None))
        Tw.report_progress(0.5)   # outside a task: does nothing


class ProgressInThreads(Progress, unittest.TestCase):
    mode = Tw.TroupeMode.THREAD


class ProgressInProcesses(Progress, unittest.TestCase):
    mode = Tw.TroupeMode.PROCESS


class Backpressure(unittest.TestCase):
    def test_submit_blocks_while_the_queue_is_full(self):
        with Tw.Troupe(func=nap_ms, n_workers=1, max_queued=1) as troupe:
            running = troupe.submit(400)
            queued = troupe.submit(0)
            start = time.monotonic()
            third = troupe.submit(0)   # waits until the worker takes `queued`
            waited = time.monotonic() - start
            self.assertTrue(running.done())
            self.assertGreater(waited, 0.1)
            self.assertLessEqual(troupe.props.n_queued, 1)
            self.assertEqual([queued.result(TIMEOUT), third.result(TIMEOUT)], [0, 0])

    def test_submit_async_waits_for_room(self):
        loop = GLib.MainLoop()
        events = []

        def tick():
            events.append(('tick', troupe.props.n_queued))
            return GLib.SOURCE_CONTINUE

        def submitted(troupe_, result):
            events.append(('submitted', troupe_.submit_finish(result)))
            loop.quit()

        with Tw.Troupe(func=nap_ms, n_workers=1, max_queued=1) as troupe:
            running = troupe.submit(400)
            troupe.submit(0)
            troupe.submit_async(7, None, submitted)
            tick_id = GLib.timeout_add(50, tick)
            timeout_id = GLib.timeout_add_seconds(TIMEOUT, loop.quit)
            loop.run()
            GLib.source_remove(tick_id)
            GLib.source_remove(timeout_id)

            self.assertEqual(events[-1][0], 'submitted')
            self.assertTrue(running.done())
            ticks = [n_queued for kind, n_queued in events if kind == 'tick']
            self.assertGreaterEqual(len(ticks), 2)
            self.assertTrue(all(n_queued <= 1 for n_queued in ticks), ticks)
            self.assertEqual(events[-1][1].result(TIMEOUT), 7)


taptest.main(__name__)
