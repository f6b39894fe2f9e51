#!/usr/bin/python3
# test_troupe.py: troupes from Python: draining, cancellation, chaining
# across modes, and Python and C workers on real pool threads and in
# worker processes
#
# Copyright 2026 The tiny-worker developers
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import atexit
import gc
import os
import sys
import tempfile
import threading
import time
import unittest

import taptest
from gi.repository import Gio, GLib, GObject, Tw, TwTest

TIMEOUT = 30
MAIN_THREAD_ID = threading.get_native_id()


def square(x):
    if x == 3:
        raise ValueError('three')
    return x * x


def halve(x):
    return x / 2


def first(value):
    return value[0]


def where(value):
    return (os.getpid(), threading.get_native_id())


def sleep_then_return(value):
    time.sleep(value)
    return value


def wait_for_cancel(value):
    """Runs until its task is cancelled, as long work that polls should."""
    cancellable = Tw.current_cancellable()
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        cancellable.set_error_if_cancelled()
        time.sleep(0.005)
    return 'never cancelled'


def mark_exit(path):
    """Writes the worker's pid to @path when its Python exits normally."""
    def write():
        with open(path, 'a') as file:
            file.write('%d\n' % os.getpid())
    atexit.register(write)
    return os.getpid()


class WhereWorker(Tw.Worker):
    def work(self, value):
        return (os.getpid(), threading.get_native_id())


class KwargsWorker(Tw.Worker):
    name = GObject.Property(type=str, flags=GObject.ParamFlags.READWRITE)
    count = GObject.Property(type=int, flags=GObject.ParamFlags.READWRITE)
    big = GObject.Property(type=GObject.TYPE_INT64, flags=GObject.ParamFlags.READWRITE)
    ratio = GObject.Property(type=float, flags=GObject.ParamFlags.READWRITE)
    flag = GObject.Property(type=bool, default=False, flags=GObject.ParamFlags.READWRITE)
    tags = GObject.Property(type=GObject.TYPE_STRV, flags=GObject.ParamFlags.READWRITE)
    extra = GObject.Property(type=GObject.TYPE_VARIANT, flags=GObject.ParamFlags.READWRITE)

    def work(self, value):
        return {'name': self.name, 'count': self.count, 'big': self.big,
                'ratio': self.ratio, 'flag': self.flag, 'tags': list(self.tags),
                'extra': Tw.from_variant(self.extra)}


Tw.init()


def wait_until_running(future):
    deadline = time.monotonic() + TIMEOUT
    while future.get_state() == Tw.FutureState.PENDING and time.monotonic() < deadline:
        time.sleep(0.002)


class Basics(unittest.TestCase):
    def test_override_comes_from_the_source_tree(self):
        override = sys.modules['gi.overrides.Tw']
        source = os.path.join(os.environ['TW_SOURCE_ROOT'], 'bindings', 'python')
        self.assertTrue(override.__file__.startswith(source), override.__file__)
        self.assertIs(Tw.Troupe, override.Troupe)

    def test_arguments(self):
        with self.assertRaises(TypeError):
            Tw.Troupe()
        with self.assertRaises(TypeError):
            Tw.Troupe(func=square, worker=WhereWorker)
        with self.assertRaises(TypeError):
            Tw.Troupe(func=42)
        with self.assertRaises(TypeError):
            Tw.Troupe(worker=GObject.Object)
        with self.assertRaises(ValueError):
            Tw.Troupe(func=square, mode='fibre')
        troupe = Tw.Troupe(func=square, mode='process', n_workers=3, cancel_grace_period=50)
        self.assertEqual(troupe.get_mode(), Tw.TroupeMode.PROCESS)
        self.assertEqual(troupe.props.n_workers, 3)
        self.assertEqual(troupe.props.cancel_grace_period, 50)
        self.assertEqual(Tw.Troupe(func=square).props.n_workers, os.cpu_count())

    def test_current_cancellable_outside_tasks(self):
        self.assertIsNone(Tw.current_cancellable())

    def test_context_manager_drains(self):
        with Tw.Troupe(worker=TwTest.CWorker, worker_kwargs={'delay_ms': 20},
                       n_workers=2) as troupe:
            futures = [troupe.submit(i) for i in range(8)]
            self.assertFalse(all(future.done() for future in futures))
        self.assertTrue(all(future.done() for future in futures))
        self.assertEqual([future.result(0)[0] for future in futures],
                         [i * i for i in range(8)])
        self.assertEqual(troupe.props.n_completed, 8)
        with self.assertRaises(GLib.Error) as caught:
            troupe.submit(1).result(TIMEOUT)
        self.assertTrue(caught.exception.matches(Tw.error_quark(), Tw.Error.SHUT_DOWN))

    def test_context_manager_cancels_after_an_exception(self):
        # The running task lasts until it is cancelled, so the queued one
        # cannot start however slow the machine.
        with self.assertRaises(KeyError):
            with Tw.Troupe(func=wait_for_cancel, n_workers=1) as troupe:
                running = troupe.submit(None)
                wait_until_running(running)
                queued = troupe.submit(None)
                raise KeyError('out')
        self.assertTrue(queued.cancelled())
        self.assertEqual(running.get_state(), Tw.FutureState.CANCELLED)

    def test_dropping_the_troupe_drains(self):
        troupe = Tw.Troupe(func=sleep_then_return, n_workers=1)
        futures = [troupe.submit(0.01) for i in range(5)]
        del troupe
        gc.collect()
        self.assertTrue(all(future.done() for future in futures))

    def test_thread_only_functions_are_forgotten(self):
        registry = sys.modules['gi.overrides.Tw']._registry
        before = len(registry)
        with Tw.Troupe(func=lambda value: value, n_workers=1) as troupe:
            self.assertEqual(len(registry), before + 1)
            troupe.submit(1).result(TIMEOUT)
        del troupe
        gc.collect()
        self.assertEqual(len(registry), before)

    def test_wait_async_in_a_main_loop(self):
        loop = GLib.MainLoop()
        results = []

        def done(future, result):
            # The raw API gives the frame; from_variant() its value.
            results.append(Tw.from_variant(future.wait_finish(result)))
            loop.quit()

        with Tw.Troupe(func=halve, n_workers=1) as troupe:
            troupe.submit(9).wait_async(None, done)
            GLib.timeout_add_seconds(TIMEOUT, loop.quit)
            loop.run()
        self.assertEqual(results, [4.5])


class Modes:
    mode = None

    def troupe(self, **kwargs):
        kwargs.setdefault('n_workers', 1)
        return Tw.Troupe(mode=self.mode, **kwargs)

    def test_cancel_queued_task(self):
        with self.troupe(worker=TwTest.CWorker, worker_kwargs={'delay_ms': 200}) as troupe:
            running = troupe.submit(1)
            queued = troupe.submit(2)
            queued.cancel()
            with self.assertRaises(GLib.Error) as caught:
                queued.result(TIMEOUT)
            self.assertTrue(caught.exception.matches(Gio.io_error_quark(),
                                                     Gio.IOErrorEnum.CANCELLED))
            self.assertTrue(queued.cancelled())
            self.assertEqual(running.result(TIMEOUT)[0], 1)
            self.assertFalse(running.cancelled())

    def test_cancel_running_python_task(self):
        with self.troupe(func=wait_for_cancel) as troupe:
            future = troupe.submit(None)
            wait_until_running(future)
            future.cancel()
            with self.assertRaises(GLib.Error) as caught:
                future.result(TIMEOUT)
        self.assertTrue(caught.exception.matches(Gio.io_error_quark(),
                                                 Gio.IOErrorEnum.CANCELLED))
        self.assertEqual(future.get_state(), Tw.FutureState.CANCELLED)

    def test_cancel_running_c_task(self):
        with self.troupe(worker=TwTest.CWorker, worker_kwargs={'delay_ms': 20000}) as troupe:
            future = troupe.submit(1)
            wait_until_running(future)
            future.cancel()
            with self.assertRaises(GLib.Error) as caught:
                future.result(TIMEOUT)
        self.assertTrue(caught.exception.matches(Gio.io_error_quark(),
                                                 Gio.IOErrorEnum.CANCELLED))

    def test_worker_kwargs(self):
        kwargs = {'name': 'n', 'count': 3, 'big': 2 ** 40, 'ratio': 0.25, 'flag': True,
                  'tags': ['a', 'b'], 'extra': {'k': [1, None]}}
        with self.troupe(worker=KwargsWorker, worker_kwargs=kwargs) as troupe:
            self.assertEqual(troupe.submit(None).result(TIMEOUT), kwargs)

    def test_c_worker(self):
        with self.troupe(worker=TwTest.CWorker, worker_kwargs={'factor': 3},
                         n_workers=2) as troupe:
            results = [troupe.submit(i).result(TIMEOUT) for i in range(4)]
        self.assertEqual([value for value, _, _ in results], [0, 3, 12, 27])
        for _, thread_id, pid in results:
            self.assertNotEqual(thread_id, MAIN_THREAD_ID)
            if self.mode == Tw.TroupeMode.THREAD:
                self.assertEqual(pid, os.getpid())
            else:
                self.assertNotEqual(pid, os.getpid())

    def test_python_worker_location(self):
        with self.troupe(worker=WhereWorker, n_workers=2) as troupe, \
                self.troupe(func=where, n_workers=2) as func_troupe:
            results = ([troupe.submit(i).result(TIMEOUT) for i in range(3)] +
                       [func_troupe.submit(i).result(TIMEOUT) for i in range(3)])
        for pid, thread_id in results:
            if self.mode == Tw.TroupeMode.THREAD:
                self.assertEqual(pid, os.getpid())
                self.assertNotEqual(thread_id, MAIN_THREAD_ID)
            else:
                self.assertNotEqual(pid, os.getpid())

    def test_failed_input_fails_the_chain(self):
        with self.troupe(func=square) as squarer, self.troupe(func=halve) as halver:
            chained = halver.submit(squarer.submit(3))
            with self.assertRaises(ValueError) as caught:
                chained.result(TIMEOUT)
        self.assertEqual(caught.exception.args, ('three',))
        self.assertEqual(halver.props.n_succeeded, 0)
        self.assertEqual(halver.props.n_failed, 1)


class ThreadMode(Modes, unittest.TestCase):
    mode = Tw.TroupeMode.THREAD

    def test_c_worker_runs_on_several_pool_threads(self):
        with Tw.Troupe(worker=TwTest.CWorker, worker_kwargs={'delay_ms': 50},
                       n_workers=3) as troupe:
            futures = [troupe.submit(i) for i in range(6)]
            results = [future.result(TIMEOUT) for future in futures]
        thread_ids = {thread_id for _, thread_id, _ in results}
        self.assertNotIn(MAIN_THREAD_ID, thread_ids)
        self.assertGreaterEqual(len(thread_ids), 2)


class ProcessMode(Modes, unittest.TestCase):
    mode = Tw.TroupeMode.PROCESS

    def test_worker_process_exits_through_python(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, 'exit-marker')
            with self.troupe(func=mark_exit) as troupe:
                pid = troupe.submit(path).result(TIMEOUT)
            # Shutdown has reaped the worker: its atexit handler has run.
            with open(path) as file:
                self.assertEqual(file.read(), '%d\n' % pid)


class ChainingAcrossModes(unittest.TestCase):
    def test_thread_to_process_to_thread(self):
        with Tw.Troupe(func=square, n_workers=2) as squarer, \
                Tw.Troupe(func=halve, n_workers=2, mode='process') as halver, \
                Tw.Troupe(func=lambda x: 'half=%s' % x, n_workers=1) as printer:
            futures = [printer.submit(halver.submit(squarer.submit(i)))
                       for i in (0, 1, 2, 4)]
            self.assertEqual([future.result(TIMEOUT) for future in futures],
                             ['half=0.0', 'half=0.5', 'half=2.0', 'half=8.0'])

    def test_c_thread_to_python_process(self):
        with Tw.Troupe(worker=TwTest.CWorker, n_workers=2) as c_troupe, \
                Tw.Troupe(func=first, n_workers=1, mode='process') as py_troupe:
            futures = [py_troupe.submit(c_troupe.submit(i)) for i in range(5)]
            self.assertEqual([future.result(TIMEOUT) for future in futures],
                             [0, 1, 4, 9, 16])


taptest.main(__name__)
