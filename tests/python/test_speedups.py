#!/usr/bin/python3
# test_speedups.py: the override's optional C extension (issue 12, item
# 10): in use when built, hidden by TW_PYTHON_SPEEDUPS=0, and the paths of
# its C worker that the other tests do not take
#
# Copyright 2026 The tiny-worker developers
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import concurrent.futures
import gc
import importlib.machinery
import os
import sys
import threading
import time
import unittest

import taptest
from gi.repository import Gio, GLib, Tw

TIMEOUT = 30
BUILT = os.path.exists(os.path.join(
    os.environ['TW_BUILD_ROOT'], 'bindings', 'python', 'gi', 'overrides',
    '_tw_speedups' + importlib.machinery.EXTENSION_SUFFIXES[0]))
HIDDEN = os.environ.get('TW_PYTHON_SPEEDUPS') == '0'

local = threading.local()


class Overdrawn(ValueError):
    def __init__(self, amount, limit):
        super().__init__('%d is over %d' % (amount, limit))
        self.amount = amount


def square(x):
    if x < 0:
        raise Overdrawn(-x, 0)
    return x * x


def where(_value):
    return os.getpid(), threading.get_ident()


def count_calls(_value):
    local.calls = getattr(local, 'calls', 0) + 1
    return local.calls


def cancellable_of_task(_value):
    return Tw.current_cancellable()


def wait_for(predicate):
    """Whether @predicate() came true within TIMEOUT, polling."""
    deadline = time.monotonic() + TIMEOUT
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.002)
    return predicate()


def until_cancelled(_value):
    cancellable = Tw.current_cancellable()
    wait_for(cancellable.is_cancelled)
    cancellable.set_error_if_cancelled()
    return 'never cancelled'


def started(future):
    return wait_for(lambda: future.get_state() != Tw.FutureState.PENDING)


class Ledger(Tw.Worker):
    """A worker class with state, set up in its thread."""

    torn_down = []

    def __init__(self, limit=100):
        super().__init__()
        self.limit = limit
        self.calls = 0
        self.setup_thread = None

    def do_setup(self, cancellable):
        self.setup_thread = threading.get_ident()

    def work(self, value):
        self.calls += 1
        local.calls = getattr(local, 'calls', 0) + 1
        if value == 'where':
            return self.setup_thread, threading.get_ident(), self.calls, local.calls
        if value == 'cancellable':
            return Tw.current_cancellable()
        if isinstance(value, int) and value > self.limit:
            raise Overdrawn(value, self.limit)
        return value

    def do_teardown(self):
        type(self).torn_down.append(threading.get_ident())


class SameLedger(Ledger):
    """Inherits everything."""


class LoudLedger(Ledger):
    def work(self, value):
        return 'loud', super().work(value)


class RawWorker(Tw.Worker):
    def do_call(self, input, cancellable):
        value = input.unpack()
        if isinstance(value, int) and value < 0:
            raise Overdrawn(-value, 0)
        if value == 'gerror':
            raise GLib.Error('no such thing', GLib.quark_to_string(Gio.io_error_quark()),
                             Gio.IOErrorEnum.NOT_FOUND)
        if value == 'cancellable':
            return GLib.Variant('b', isinstance(cancellable, Gio.Cancellable)
                                and cancellable is Tw.current_cancellable())
        return input


class Speedups(unittest.TestCase):

    def test_used_when_built_and_not_hidden(self):
        fast = sys.modules['gi.overrides._tw_fast']
        self.assertEqual(fast._c is not None, BUILT and not HIDDEN)
        troupe = Tw.Troupe(func=square, n_workers=1)
        self.assertEqual(troupe.props.worker_type.name,
                         'TwPyCallWorker' if fast._c is not None else 'TwPyFuncWorker')
        # Process troupes keep the Python worker either way.
        process = Tw.Troupe(func=square, n_workers=1, mode='process')
        self.assertEqual(process.props.worker_type.name, 'TwPyFuncWorker')
        troupe.shutdown()
        process.shutdown()

    def test_values_of_every_kind(self):
        lock = threading.Lock()
        with Tw.Troupe(func=lambda value: value, n_workers=2) as troupe:
            for value in (lock, None, 7, 2.5, 2 ** 70, 'text', [1, (2, 3)]):
                self.assertIs(troupe.submit(value).result(TIMEOUT), value)
            # A GLib.Variant, and a chained future, go the Python way in.
            self.assertEqual(troupe.submit(GLib.Variant('s', 'plain')).result(TIMEOUT), 'plain')
            chained = troupe.submit(troupe.submit(lock))
            self.assertIs(chained.result(TIMEOUT), lock)

    def test_exception_is_the_same_object(self):
        with Tw.Troupe(func=square, n_workers=2) as troupe:
            futures = [troupe.submit(-i) for i in range(1, 4)]
            for i, future in enumerate(futures, 1):
                with self.assertRaises(Overdrawn) as caught:
                    future.result(TIMEOUT)
                self.assertEqual(caught.exception.amount, i)
                self.assertIs(future.exception(TIMEOUT), caught.exception)

    def test_exceptions_are_released(self):
        # Of tasks on values submitted here, and on values that another
        # task returned, read or not.
        raised = sys.modules['gi.overrides._tw_values']._raised
        before = set(raised)
        with Tw.Troupe(func=lambda value: value, n_workers=1) as same, \
                Tw.Troupe(func=square, n_workers=2) as squares:
            unread = [squares.submit(-i) for i in range(1, 4)]
            chained = squares.submit(same.submit(-4))
            with self.assertRaises(Overdrawn) as caught:
                chained.result(TIMEOUT)
            self.assertEqual(caught.exception.amount, 4)
        self.assertEqual(len(set(raised) - before), 3)
        del unread, chained, caught
        gc.collect()
        self.assertEqual(set(raised) - before, set())

    def test_timed_out_result_can_wait_again(self):
        event = threading.Event()
        with Tw.Troupe(func=lambda value: event.wait(TIMEOUT) and value, n_workers=1) as troupe:
            future = troupe.submit('done')
            with self.assertRaises(TimeoutError):
                future.result(0.05)
            with self.assertRaises(ValueError):
                future.result(float('nan'))
            event.set()
            # inf (or any time too long to count in µs) waits for ever.
            self.assertEqual(future.result(float('inf')), 'done')

    def test_runs_on_worker_threads(self):
        with Tw.Troupe(func=where, n_workers=2) as troupe:
            places = {troupe.submit(i).result(TIMEOUT) for i in range(20)}
        self.assertEqual({pid for pid, _ in places}, {os.getpid()})
        self.assertNotIn(threading.get_ident(), {thread for _, thread in places})

    @unittest.skipIf(not BUILT or HIDDEN, 'the Python worker makes a thread state per task')
    def test_thread_state_lasts_from_setup_to_teardown(self):
        # As in a ThreadPoolExecutor, a worker thread's threading.local()
        # keeps what earlier tasks left there.
        with Tw.Troupe(func=count_calls, n_workers=1) as troupe:
            self.assertEqual([troupe.submit(i).result(TIMEOUT) for i in range(5)],
                             [1, 2, 3, 4, 5])

    @unittest.skipIf(not BUILT or HIDDEN, 'PyGObject drops the GIL in every call')
    def test_submit_and_settled_result_keep_the_gil(self):
        # Another Python thread gets the GIL only when this one drops it
        # or has held it for the switch interval.
        ran = []
        stop = threading.Event()

        def spin():
            while not stop.is_set():
                ran.append(None)

        interval = sys.getswitchinterval()
        sys.setswitchinterval(1.0)
        spinner = threading.Thread(target=spin)
        try:
            with Tw.Troupe(func=square, n_workers=1) as troupe:
                settled = [troupe.submit(i) for i in range(20)]
                self.assertEqual(settled[-1].result(TIMEOUT), 19 * 19)
                spinner.start()
                while not ran:
                    time.sleep(0.001)
                before = len(ran)
                values = [future.result() for future in settled]
                futures = [troupe.submit(i) for i in range(20)]
                self.assertEqual(len(ran), before)
                stop.set()
        finally:
            stop.set()
            sys.setswitchinterval(interval)
            if spinner.is_alive():
                spinner.join()
        self.assertEqual(values, [i * i for i in range(20)])
        self.assertEqual([future.result(TIMEOUT) for future in futures], values)

    def test_current_cancellable_is_the_tasks(self):
        with Tw.Troupe(func=cancellable_of_task, n_workers=1) as troupe:
            cancellable = troupe.submit(0).result(TIMEOUT)
        self.assertIsNotNone(cancellable)
        self.assertFalse(cancellable.is_cancelled())
        self.assertIsNone(Tw.current_cancellable())

    def test_exception_in_with_cancels_every_task(self):
        # The C submit() tracks its futures itself: the running tasks, the
        # queued ones and the settled one, submitted after the first.
        with self.assertRaises(KeyError):
            with Tw.Troupe(func=until_cancelled, n_workers=2) as troupe:
                first = troupe.submit(0)
                futures = [troupe.submit(i) for i in range(1, 6)]
                self.assertTrue(started(futures[0]))
                self.assertTrue(started(first))
                raise KeyError('out')
        self.assertEqual([future.cancelled() for future in [first] + futures], [True] * 6)
        with self.assertRaises(Exception) as caught:
            futures[0].result(TIMEOUT)
        self.assertIsInstance(caught.exception, concurrent.futures.CancelledError)

    @unittest.skipIf(not BUILT or HIDDEN, 'no C tracking without the extension')
    def test_tracking_keeps_no_future(self):
        fast = sys.modules['gi.overrides._tw_fast']
        with Tw.Troupe(func=square, n_workers=2) as troupe:
            futures = [troupe.submit(i) for i in range(100)]
            finalized = []
            for future in futures:
                future.weak_ref(finalized.append, None)
            self.assertEqual([future.result(TIMEOUT) for future in futures],
                             [i * i for i in range(100)])
            self.assertEqual(fast._c.pending_futures(troupe), [])
            del futures, future
            # The thread that settled the last one may hold it a moment more.
            deadline = time.monotonic() + TIMEOUT
            while len(finalized) < 100 and time.monotonic() < deadline:
                gc.collect()
                time.sleep(0.01)
            self.assertEqual(len(finalized), 100)

    def test_worker_class_on_the_c_path(self):
        fast = sys.modules['gi.overrides._tw_fast']
        on_c_path = fast._c is not None
        for cls in (Ledger, SameLedger, LoudLedger):
            self.assertEqual(fast.patch_worker_class(cls.__gtype__, Tw.TroupeMode.THREAD),
                             on_c_path)
            self.assertFalse(fast.patch_worker_class(cls.__gtype__, Tw.TroupeMode.PROCESS))
        # A raw do_call() of GLib.Variant values too.
        self.assertEqual(fast.patch_worker_class(RawWorker.__gtype__, Tw.TroupeMode.THREAD),
                         on_c_path)
        # Not a C worker class.
        self.assertFalse(fast.patch_worker_class(Tw.Worker.__gtype__, Tw.TroupeMode.THREAD))

    def test_raw_worker_class(self):
        with Tw.Troupe(worker=RawWorker, n_workers=2) as troupe:
            self.assertEqual(troupe.submit(GLib.Variant('s', 'raw')).result(TIMEOUT), 'raw')
            self.assertEqual(troupe.submit(GLib.Variant('ax', [1, 2])).result(TIMEOUT), [1, 2])
            self.assertEqual(troupe.submit(7).result(TIMEOUT), 7)
            with self.assertRaises(Overdrawn) as caught:
                troupe.submit(GLib.Variant('x', -3)).result(TIMEOUT)
            self.assertEqual(caught.exception.amount, 3)
            with self.assertRaises(GLib.Error) as caught:
                troupe.submit(GLib.Variant('s', 'gerror')).result(TIMEOUT)
            self.assertTrue(caught.exception.matches(Gio.io_error_quark(),
                                                     Gio.IOErrorEnum.NOT_FOUND))
            self.assertIs(troupe.submit(GLib.Variant('s', 'cancellable')).result(TIMEOUT), True)

    def test_worker_class_values_and_exceptions(self):
        lock = threading.Lock()
        for cls, wrap in ((Ledger, lambda v: v), (SameLedger, lambda v: v),
                          (LoudLedger, lambda v: ('loud', v))):
            with Tw.Troupe(worker=cls, worker_kwargs={'limit': 10}, n_workers=2) as troupe:
                for value in (lock, None, 7, 2.5, 'text', [1, (2, 3)]):
                    result = troupe.submit(value).result(TIMEOUT)
                    self.assertEqual(result, wrap(value))
                    self.assertIs(result if cls is not LoudLedger else result[1], value)
                futures = [troupe.submit(11 + i) for i in range(3)]
                for i, future in enumerate(futures):
                    with self.assertRaises(Overdrawn) as caught:
                        future.result(TIMEOUT)
                    self.assertEqual(caught.exception.amount, 11 + i)
                    self.assertIs(future.exception(TIMEOUT), caught.exception)
                self.assertEqual(list(troupe.map([1, 2, 3], chunksize=2)),
                                 [wrap(1), wrap(2), wrap(3)])
                cancellable = troupe.submit('cancellable').result(TIMEOUT)
                self.assertIsNotNone(cancellable if cls is not LoudLedger else cancellable[1])

    def test_worker_class_exceptions_are_released(self):
        raised = sys.modules['gi.overrides._tw_values']._raised
        before = set(raised)
        with Tw.Troupe(worker=Ledger, worker_kwargs={'limit': 0}, n_workers=2) as troupe:
            unread = [troupe.submit(i) for i in range(1, 4)]
            with self.assertRaises(Overdrawn):
                troupe.submit(4).result(TIMEOUT)
        self.assertEqual(len(set(raised) - before), 3)
        del unread
        gc.collect()
        self.assertEqual(set(raised) - before, set())

    def test_worker_class_set_up_and_torn_down_in_its_thread(self):
        Ledger.torn_down.clear()
        with Tw.Troupe(worker=Ledger, worker_kwargs={'limit': 0}, n_workers=1) as troupe:
            places = [troupe.submit('where').result(TIMEOUT) for _ in range(4)]
        setup_thread, thread = places[0][:2]
        self.assertNotEqual(thread, threading.get_ident())
        self.assertEqual([place[:3] for place in places],
                         [(setup_thread, thread, i) for i in range(1, 5)])
        self.assertEqual(Ledger.torn_down, [thread])
        if BUILT and not HIDDEN:
            # As in a ThreadPoolExecutor, threading.local() keeps what
            # earlier tasks left there (PyGObject makes a thread state per call).
            self.assertEqual([place[3] for place in places], [1, 2, 3, 4])

    def test_worker_class_switched_to_process_mode(self):
        # The class's own call runs in worker processes, where values are pickled.
        troupe = Tw.Troupe(worker=Ledger, n_workers=1)
        troupe.set_mode(Tw.TroupeMode.PROCESS)
        self.assertEqual(troupe.submit(12).result(TIMEOUT), 12)
        with self.assertRaises(Overdrawn) as caught:
            troupe.submit(101).result(TIMEOUT)
        self.assertEqual(caught.exception.amount, 101)
        troupe.shutdown()

    def test_switched_to_process_mode(self):
        # The C worker of a thread troupe, in worker processes.
        troupe = Tw.Troupe(func=square, n_workers=1)
        troupe.set_mode(Tw.TroupeMode.PROCESS)
        self.assertEqual(troupe.submit(12).result(TIMEOUT), 144)
        self.assertEqual(troupe.submit(2 ** 70).result(TIMEOUT), 2 ** 140)
        with self.assertRaises(Overdrawn) as caught:
            troupe.submit(-5).result(TIMEOUT)
        self.assertEqual(caught.exception.amount, 5)
        self.assertEqual(sorted(troupe.map([3, 1, 2], chunksize=2)), [1, 4, 9])
        troupe.shutdown()


Tw.init()
taptest.main(__name__)
