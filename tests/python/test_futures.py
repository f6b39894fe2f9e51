#!/usr/bin/python3
# test_futures.py: Tw.Future as a concurrent.futures.Future, in both modes:
# result() and exception() with timeouts, the state queries, cancel(), done
# callbacks without a main loop, concurrent.futures.wait() and
# as_completed(), and asyncio
#
# Copyright 2026 The tiny-worker developers
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import asyncio
import concurrent.futures
import gc
import os
import sys
import threading
import time
import unittest

import taptest
from gi.repository import Gio, GLib, Tw

TIMEOUT = 30


def nap(seconds):
    time.sleep(seconds)
    return seconds


def fail(value):
    raise ValueError('bad value %r' % (value,))


def pid(value):
    return os.getpid()


def until_cancelled(value):
    """Runs until its task is cancelled, as long work that polls should."""
    cancellable = Tw.current_cancellable()
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        cancellable.set_error_if_cancelled()
        time.sleep(0.005)
    return 'never cancelled'


Tw.init()


def wait_until_running(future):
    deadline = time.monotonic() + TIMEOUT
    while future.get_state() == Tw.FutureState.PENDING and time.monotonic() < deadline:
        time.sleep(0.002)
    assert future.get_state() != Tw.FutureState.PENDING


def raised_by(callable_, *args):
    try:
        callable_(*args)
    except Exception as exc:
        return exc
    raise AssertionError('%r did not raise' % (callable_,))


class Modes:
    mode = None

    def troupe(self, func, n_workers=1):
        return Tw.Troupe(func=func, mode=self.mode, n_workers=n_workers)

    # result(), exception() and the state queries ---------------------------

    def test_is_a_concurrent_future(self):
        with self.troupe(nap) as troupe:
            future = troupe.submit(0)
            self.assertIsInstance(future, concurrent.futures.Future)
            self.assertIsInstance(future, Tw.Future)
            self.assertEqual(future.result(TIMEOUT), 0)

    def test_result_and_exception_of_a_success(self):
        with self.troupe(nap) as troupe:
            future = troupe.submit(0.01)
            self.assertIsNone(future.exception(TIMEOUT))
            self.assertEqual(future.result(TIMEOUT), 0.01)
            self.assertEqual(future.result(0), 0.01)

    def test_exception_is_what_result_raises(self):
        with self.troupe(fail) as troupe:
            future = troupe.submit(3)
            exc = future.exception(TIMEOUT)
            raised = raised_by(future.result, 0)
        self.assertIs(type(exc), type(raised))
        self.assertIn('bad value 3', str(exc))
        self.assertTrue(future.done())
        self.assertFalse(future.cancelled())

    def test_timeouts(self):
        with self.troupe(until_cancelled) as troupe:
            future = troupe.submit(None)
            for wait in (future.result, future.exception):
                start = time.monotonic()
                with self.assertRaises(TimeoutError) as caught:
                    wait(0.1)
                elapsed = time.monotonic() - start
                self.assertIsInstance(caught.exception, Tw.FutureTimeoutError)
                self.assertTrue(caught.exception.matches(Gio.io_error_quark(),
                                                         Gio.IOErrorEnum.TIMED_OUT))
                self.assertGreaterEqual(elapsed, 0.1)
                self.assertLess(elapsed, 5)
            self.assertFalse(future.done())
            future.cancel()
            with self.assertRaises(concurrent.futures.CancelledError):
                future.exception(TIMEOUT)

    def test_states(self):
        with self.troupe(until_cancelled) as troupe:
            running = troupe.submit(None)
            queued = troupe.submit(None)
            wait_until_running(running)
            self.assertEqual((running.running(), running.done(), running.cancelled()),
                             (True, False, False))
            self.assertEqual((queued.running(), queued.done(), queued.cancelled()),
                             (False, False, False))
            self.assertTrue(queued.cancel())
            self.assertEqual((queued.running(), queued.done(), queued.cancelled()),
                             (False, True, True))
            running.cancel()
            with self.assertRaises(concurrent.futures.CancelledError):
                running.exception(TIMEOUT)
            self.assertEqual((running.running(), running.done(), running.cancelled()),
                             (False, True, True))

    # cancel() -----------------------------------------------------------------

    def test_cancel_a_queued_task(self):
        with self.troupe(until_cancelled) as troupe:
            running = troupe.submit(None)
            queued = troupe.submit(None)
            wait_until_running(running)
            self.assertIs(queued.cancel(), True)
            self.assertIs(queued.cancel(), True)
            for wait in (queued.result, queued.exception):
                with self.assertRaises(concurrent.futures.CancelledError) as caught:
                    wait(0)
                self.assertIsInstance(caught.exception, Tw.FutureCancelledError)
                self.assertTrue(caught.exception.matches(Gio.io_error_quark(),
                                                         Gio.IOErrorEnum.CANCELLED))
            running.cancel()

    def test_cancel_a_running_task_asks_it_to_stop(self):
        with self.troupe(until_cancelled) as troupe:
            future = troupe.submit(None)
            wait_until_running(future)
            # As in concurrent.futures a running task is not cancelled at
            # once, but its worker is told.
            self.assertIs(future.cancel(), False)
            with self.assertRaises(concurrent.futures.CancelledError):
                future.result(TIMEOUT)
            self.assertIs(future.cancel(), True)

    def test_cancel_a_finished_task(self):
        with self.troupe(nap) as troupe:
            future = troupe.submit(0)
            self.assertEqual(future.result(TIMEOUT), 0)
            self.assertIs(future.cancel(), False)
            self.assertFalse(future.cancelled())
            self.assertEqual(future.result(0), 0)

    # add_done_callback() ------------------------------------------------------

    def test_done_callback_runs_once_without_a_main_loop(self):
        calls = []
        called = threading.Event()

        def callback(future):
            calls.append((future, threading.current_thread()))
            called.set()

        with self.troupe(nap) as troupe:
            future = troupe.submit(0.2)
            future.add_done_callback(callback)
            self.assertEqual(calls, [])
            self.assertTrue(called.wait(TIMEOUT))
            self.assertEqual(future.result(0), 0.2)
        time.sleep(0.1)  # room for a wrong second call to show up
        self.assertEqual(len(calls), 1)
        self.assertIs(calls[0][0], future)
        self.assertIsNot(calls[0][1], threading.main_thread())

    def test_done_callback_on_a_settled_future_runs_at_once(self):
        calls = []
        with self.troupe(nap) as troupe:
            future = troupe.submit(0)
            future.result(TIMEOUT)
            future.add_done_callback(lambda f: calls.append((f, threading.current_thread())))
        self.assertEqual(calls, [(future, threading.main_thread())])

    def test_done_callbacks_in_order_and_errors_logged(self):
        calls = []
        called = threading.Event()

        def broken(future):
            calls.append('broken')
            raise RuntimeError('callback bug')

        def last(future):
            calls.append('last')
            called.set()

        with self.troupe(fail) as troupe:
            future = troupe.submit(1)
            with self.assertLogs('concurrent.futures', 'ERROR') as logs:
                future.add_done_callback(lambda f: calls.append('first'))
                future.add_done_callback(broken)
                future.add_done_callback(last)
                self.assertTrue(called.wait(TIMEOUT))
        self.assertEqual(calls, ['first', 'broken', 'last'])
        self.assertEqual(len(logs.records), 1)
        self.assertIn('callback bug', logs.output[0])

    def test_done_callback_on_a_cancelled_future(self):
        calls = []
        with self.troupe(until_cancelled) as troupe:
            running = troupe.submit(None)
            queued = troupe.submit(None)
            wait_until_running(running)
            queued.add_done_callback(lambda f: calls.append(f.cancelled()))
            self.assertTrue(queued.cancel())
            # cancel() tells the callbacks before it returns.
            self.assertEqual(calls, [True])
            running.cancel()

    def test_state_survives_the_python_wrapper(self):
        called = threading.Event()
        with self.troupe(nap) as troupe:
            future = troupe.submit(0.1)
            future.add_done_callback(lambda f: called.set())
            del future
            gc.collect()
            self.assertTrue(called.wait(TIMEOUT))

    # concurrent.futures.wait() and as_completed() ----------------------------

    def test_wait_all_completed(self):
        with self.troupe(nap, n_workers=2) as troupe:
            futures = [troupe.submit(0.05 * i) for i in range(4)]
            done, not_done = concurrent.futures.wait(futures, TIMEOUT)
        self.assertEqual(done, set(futures))
        self.assertEqual(not_done, set())

    def test_wait_first_completed_and_timeout(self):
        with self.troupe(until_cancelled, n_workers=1) as slow, self.troupe(nap) as quick:
            stuck = slow.submit(None)
            wait_until_running(stuck)
            fast = quick.submit(0.05)
            done, not_done = concurrent.futures.wait(
                [stuck, fast], TIMEOUT, return_when=concurrent.futures.FIRST_COMPLETED)
            self.assertEqual((done, not_done), ({fast}, {stuck}))

            start = time.monotonic()
            done, not_done = concurrent.futures.wait([stuck], 0.1)
            self.assertGreaterEqual(time.monotonic() - start, 0.1)
            self.assertEqual((done, not_done), (set(), {stuck}))
            stuck.cancel()

    def test_wait_first_exception(self):
        with self.troupe(until_cancelled) as slow, self.troupe(fail) as failing:
            stuck = slow.submit(None)
            failed = failing.submit(2)
            done, not_done = concurrent.futures.wait(
                [stuck, failed], TIMEOUT, return_when=concurrent.futures.FIRST_EXCEPTION)
            self.assertEqual((done, not_done), ({failed}, {stuck}))
            stuck.cancel()

    def test_as_completed_in_completion_order(self):
        with self.troupe(nap, n_workers=1) as troupe:
            futures = [troupe.submit(value) for value in (0.3, 0.01, 0.02)]
            cancelled = troupe.submit(0)
            self.assertTrue(cancelled.cancel())
            order = list(concurrent.futures.as_completed(futures + [cancelled], TIMEOUT))
        self.assertIs(order[0], cancelled)
        self.assertEqual(order[1:], futures)

    def test_as_completed_timeout(self):
        with self.troupe(until_cancelled) as troupe:
            future = troupe.submit(None)
            with self.assertRaises(TimeoutError):
                for _ in concurrent.futures.as_completed([future], 0.1):
                    pass
            future.cancel()

    # asyncio ---------------------------------------------------------------

    def test_await(self):
        with self.troupe(nap, n_workers=2) as troupe, self.troupe(fail) as failing:
            async def main():
                first = await troupe.submit(0.05)
                wrapped = await asyncio.wrap_future(troupe.submit(0.01))
                gathered = await asyncio.gather(troupe.submit(0.02), troupe.submit(0.03))
                with self.assertRaises(Exception) as caught:
                    await failing.submit(7)
                return first, wrapped, gathered, str(caught.exception)

            first, wrapped, gathered, message = asyncio.run(main())
        self.assertEqual((first, wrapped, gathered), (0.05, 0.01, [0.02, 0.03]))
        self.assertIn('bad value 7', message)

    def test_asyncio_timeout_cancels_the_task(self):
        with self.troupe(until_cancelled) as troupe:
            running = troupe.submit(None)
            queued = troupe.submit(None)
            wait_until_running(running)

            async def main():
                with self.assertRaises(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.wrap_future(queued), 0.1)

            asyncio.run(main())
            self.assertTrue(queued.cancelled())
            running.cancel()


class Shutdown(unittest.TestCase):
    def assert_shut_down(self, troupe):
        with self.assertRaises(GLib.Error) as caught:
            troupe.submit(1).result(TIMEOUT)
        self.assertTrue(caught.exception.matches(Tw.error_quark(), Tw.Error.SHUT_DOWN))

    def test_cancel_futures(self):
        troupe = Tw.Troupe(func=nap, n_workers=1)
        running = troupe.submit(0.2)
        queued = troupe.submit(0)
        wait_until_running(running)
        troupe.shutdown(wait=True, cancel_futures=True)
        self.assertEqual(running.result(0), 0.2)
        self.assertTrue(queued.cancelled())
        self.assert_shut_down(troupe)

    def test_mode_as_in_c(self):
        troupe = Tw.Troupe(func=nap, n_workers=1)
        running = troupe.submit(0.2)
        queued = troupe.submit(0)
        wait_until_running(running)
        troupe.shutdown(Tw.ShutdownMode.CANCEL_PENDING)
        self.assertTrue(running.done())
        self.assertTrue(queued.cancelled())

    def test_drain_by_default(self):
        troupe = Tw.Troupe(func=nap, n_workers=1)
        futures = [troupe.submit(0.01) for _ in range(5)]
        troupe.shutdown()
        self.assertTrue(all(future.done() for future in futures))
        self.assertEqual([future.result(0) for future in futures], [0.01] * 5)

    def test_no_wait(self):
        troupe = Tw.Troupe(func=nap, n_workers=1)
        running = troupe.submit(0.5)
        queued = troupe.submit(0)
        wait_until_running(running)
        start = time.monotonic()
        troupe.shutdown(wait=False)
        self.assertLess(time.monotonic() - start, 0.4)
        self.assert_shut_down(troupe)
        self.assertEqual(queued.result(TIMEOUT), 0)
        self.assertEqual(running.result(0), 0.5)

    def test_settled_futures_are_not_kept(self):
        submitted = sys.modules['gi.overrides._tw_future']._submitted
        with Tw.Troupe(func=nap, n_workers=2) as troupe:
            for _ in range(1000):
                troupe.submit(0).result(TIMEOUT)
            self.assertLessEqual(len(submitted[hash(troupe)]), 66)
        key = hash(troupe)
        del troupe
        gc.collect()
        self.assertNotIn(key, submitted)

    def test_exception_in_with_kills_process_workers(self):
        start = time.monotonic()
        with self.assertRaises(KeyError):
            with Tw.Troupe(func=nap, n_workers=2, mode='process') as troupe:
                futures = [troupe.submit(TIMEOUT) for _ in range(3)]
                wait_until_running(futures[0])
                wait_until_running(futures[1])
                raise KeyError('out')
        # Cancelled, then killed after the grace period of one second.
        self.assertTrue(all(future.cancelled() for future in futures))
        self.assertLess(time.monotonic() - start, TIMEOUT / 2)


class ThreadMode(Modes, unittest.TestCase):
    mode = Tw.TroupeMode.THREAD

    def test_blocking_waits_make_no_gerror(self):
        # The ctypes path, not the slower one that holds SIGINT back.
        self.assertIsNotNone(sys.modules['gi.overrides._tw_future']._c_wait)

    def test_done_callback_for_a_future_from_c(self):
        called = threading.Event()
        future = Tw.Future.new_for_value(GLib.Variant('s', 'x'))
        future.add_done_callback(lambda f: called.set())
        self.assertTrue(called.is_set())
        self.assertEqual(future.result(0), 'x')


class ProcessMode(Modes, unittest.TestCase):
    mode = Tw.TroupeMode.PROCESS

    def test_workers_are_processes(self):
        with self.troupe(pid) as troupe:
            self.assertNotEqual(troupe.submit(None).result(TIMEOUT), os.getpid())


taptest.main(__name__)
