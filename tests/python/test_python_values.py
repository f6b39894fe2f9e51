#!/usr/bin/python3
# test_python_values.py: Python values, exceptions, map and worker classes
# (issue 12, items 1, 2, 4 and 5), in thread and process mode
#
# Copyright 2026 The tiny-worker developers
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import dataclasses
import decimal
import enum
import fractions
import gc
import os
import sys
import threading
import time
import unittest
import weakref

import taptest
from gi.repository import GLib, Tw, TwTest

TIMEOUT = 30


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int


class Account:
    """A plain class with state, as a seed user would pass."""

    def __init__(self, owner, balance):
        self.owner = owner
        self.balance = balance

    def __eq__(self, other):
        return (type(other) is Account
                and (self.owner, self.balance) == (other.owner, other.balance))


class Colour(enum.IntEnum):
    RED = 1


class InsufficientFunds(ValueError):
    def __init__(self, balance, amount):
        super().__init__('balance %d is less than %d' % (balance, amount))
        self.balance = balance
        self.amount = amount


VALUES = [
    Point(1, 2), {3, 1, 2}, frozenset({'a'}), 3 + 4j, decimal.Decimal('1.10'),
    fractions.Fraction(1, 3), 2 ** 100, -2 ** 70, Account('ann', 10), [Point(0, 0), {1: {2}}],
    {(1, 2): 'tuple key', 3: 'mixed keys'}, 'nul\0inside', b'\x00\xff', None, float('inf'),
    True, Colour.RED, -0.0, 7, 2 ** 63 - 1, -2 ** 63, 2 ** 63,
]


def identity(value):
    return value


def type_and_value(value):
    return type(value), value


def square(x):
    return x * x


def sleep_then_return(seconds):
    time.sleep(seconds)
    return seconds


def withdraw(amount):
    if amount > 100:
        raise InsufficientFunds(100, amount)
    return 100 - amount


def where(_value):
    return os.getpid(), threading.get_ident()


def unconvertible(value):
    return Point(value, value)


def square_point(point):
    return Point(point.x * point.x, point.y * point.y)


class Scaler(Tw.Worker):
    """Configured like the seed: plain keyword arguments of __init__."""

    inits = 0

    def __init__(self, factor, offset=0):
        super().__init__()
        type(self).inits += 1
        self.factor = factor
        self.offset = offset
        self.init_pid = os.getpid()
        self.init_thread = threading.get_ident()

    def work(self, value):
        if value == 'where':
            return (self.init_pid, self.init_thread, os.getpid(), threading.get_ident(),
                    type(self).inits)
        return value * self.factor + self.offset


class ShiftedScaler(Scaler):
    """A subclass whose __init__ chains up with its own arguments."""

    def __init__(self, shift, **kwargs):
        super().__init__(**kwargs)
        self.offset += shift


class Labelled(Tw.Worker):
    """A GObject property and a plain argument side by side."""

    from gi.repository import GObject
    label = GObject.Property(type=str, default='none',
                             flags=GObject.ParamFlags.READWRITE | GObject.ParamFlags.CONSTRUCT)

    def __init__(self, suffix):
        super().__init__()
        self.suffix = suffix

    def work(self, value):
        return '%s:%s%s' % (self.label, value, self.suffix)


Tw.init()


class Values:
    mode = None

    @classmethod
    def setUpClass(cls):
        cls.troupe = Tw.Troupe(func=identity, n_workers=2, mode=cls.mode)

    @classmethod
    def tearDownClass(cls):
        cls.troupe.shutdown(Tw.ShutdownMode.DRAIN)

    def test_values_round_trip_with_their_type(self):
        for value in VALUES:
            with self.subTest(value=value):
                result = self.troupe.submit(value).result(TIMEOUT)
                self.assertEqual(result, value)
                self.assertIs(type(result), type(value))

    def test_the_worker_gets_the_value_itself(self):
        with Tw.Troupe(func=type_and_value, n_workers=1, mode=self.mode) as troupe:
            self.assertEqual(troupe.submit(Point(5, 6)).result(TIMEOUT), (Point, Point(5, 6)))
            # A GLib.Variant input is converted by its type, as before.
            self.assertEqual(troupe.submit(GLib.Variant('(iu)', (1, 2))).result(TIMEOUT),
                             (tuple, (1, 2)))

    def test_chained_into_a_c_worker_converts(self):
        with Tw.Troupe(func=square, n_workers=1, mode=self.mode) as python_troupe, \
                Tw.Troupe(worker=TwTest.CWorker, n_workers=1, mode=self.mode) as c_troupe:
            settled = python_troupe.submit(3)
            settled.result(TIMEOUT)
            pending = python_troupe.submit(4)
            self.assertEqual(c_troupe.submit(settled).result(TIMEOUT)[0], 81)
            self.assertEqual(c_troupe.submit(pending).result(TIMEOUT)[0], 256)

    def test_chained_into_a_c_worker_says_how_to_convert(self):
        with Tw.Troupe(func=unconvertible, n_workers=1, mode=self.mode) as python_troupe, \
                Tw.Troupe(worker=TwTest.CWorker, n_workers=1) as c_troupe:
            future = python_troupe.submit(1)
            with self.assertRaises(TypeError) as caught:
                c_troupe.submit(future).result(TIMEOUT)
        self.assertIn('cannot convert Point to a GVariant', str(caught.exception))
        self.assertIn('Tw.to_variant()', str(caught.exception))

    def test_chained_between_modes(self):
        with Tw.Troupe(func=square, n_workers=1, mode=self.mode) as first, \
                Tw.Troupe(func=type_and_value, n_workers=1, mode='process') as to_process, \
                Tw.Troupe(func=type_and_value, n_workers=1, mode='thread') as to_thread:
            slow = first.submit(Tw.Future.new_for_value(0)).then(lambda f: None)
            for source in (first.submit(7), slow):
                self.assertEqual(to_process.submit(source).result(TIMEOUT)[1],
                                 source.result(TIMEOUT))
                self.assertEqual(to_thread.submit(source).result(TIMEOUT)[1],
                                 source.result(TIMEOUT))

    def test_continuations_and_gathering_carry_python_values(self):
        with Tw.Troupe(func=identity, n_workers=2, mode=self.mode) as troupe:
            moved = troupe.submit(Point(1, 2)).then(lambda f: Point(f.result().y, 0))
            self.assertEqual(moved.result(TIMEOUT), Point(2, 0))
            self.assertEqual(Tw.Future.new_for_value({1, 2}).result(TIMEOUT), {1, 2})
            gathered = Tw.Future.all([troupe.submit(Point(i, i)) for i in range(3)])
            self.assertEqual(gathered.result(TIMEOUT), (Point(0, 0), Point(1, 1), Point(2, 2)))
            self.assertEqual(troupe.submit(moved).result(TIMEOUT), Point(2, 0))

    def test_exceptions_by_type_through_every_path(self):
        with Tw.Troupe(func=withdraw, n_workers=2, mode=self.mode) as troupe:
            futures = [troupe.submit(amount) for amount in (10, 150, 20)]
            outcomes = []
            for future in Tw.as_completed(futures, timeout=TIMEOUT):
                try:
                    outcomes.append(future.result())
                except InsufficientFunds as error:
                    outcomes.append((error.balance, error.amount))
            self.assertEqual(sorted(outcomes, key=str), sorted([90, (100, 150), 80], key=str))

            results = troupe.map([10, 20, 200, 30], chunksize=1)
            self.assertEqual([next(results), next(results)], [90, 80])
            with self.assertRaises(InsufficientFunds) as caught:
                next(results)
            self.assertEqual((caught.exception.balance, caught.exception.amount), (100, 200))


class Frames(unittest.TestCase):
    def test_frames_are_normal_gvariants(self):
        # Framing offsets of 1, 2 and 4 bytes, at the edges.
        frames = sys.modules['gi.overrides._tw_values']
        for size in (0, 200, 236, 237, 238, 65500, 65520, 65540, 70000):
            payload = b'x' * size
            frame = frames.pickle_frame(payload)
            self.assertEqual(frame.get_type_string(), '(say)')
            self.assertTrue(frame.is_normal_form())
            self.assertEqual(frame.get_child_value(0).get_string(), 'tw-python-pickle')
            self.assertEqual(Tw.from_variant(frame), payload)
        self.assertEqual(Tw.from_variant(GLib.Variant('(say)', ('other', b'\x80'))),
                         ('other', b'\x80'))


class ThreadValues(Values, unittest.TestCase):
    mode = 'thread'

    def test_values_pass_by_reference(self):
        unpicklable = threading.Lock()
        for value in (Account('bob', 1), unpicklable, [1, 2]):
            self.assertIs(self.troupe.submit(value).result(TIMEOUT), value)

    def test_referenced_objects_are_released(self):
        # An object lives as long as the GVariant that names it: here the
        # futures' values, and the inputs, which the tasks drop.
        troupe = Tw.Troupe(func=identity, n_workers=2, mode=self.mode)
        accounts = [Account('x', i) for i in range(20)]
        alive = [weakref.ref(account) for account in accounts]
        futures = [troupe.submit(account) for account in accounts]
        self.assertEqual([f.result(TIMEOUT).balance for f in futures], list(range(20)))
        del accounts
        gc.collect()
        self.assertEqual(sum(1 for ref in alive if ref() is not None), 20)
        del futures
        # Once shut down, no worker holds its last input either.
        troupe.shutdown(Tw.ShutdownMode.DRAIN)
        gc.collect()
        self.assertEqual([ref() for ref in alive], [None] * 20)


    def test_exceptions_are_released_with_their_future(self):
        # Passed by reference, an exception is kept until its future goes,
        # whether or not anyone asked for it, even though its traceback
        # holds frames that hold the future.
        raised = sys.modules['gi.overrides._tw_values']._raised
        before = set(raised)
        caught = []
        with Tw.Troupe(func=withdraw, n_workers=1, mode=self.mode) as troupe:
            futures = [troupe.submit(amount) for amount in (101, 102, 103)]
            for future in futures:
                try:
                    future.result(TIMEOUT)
                except InsufficientFunds as exc:
                    caught.append(weakref.ref(exc))
            unread = troupe.submit(104)
            try:
                list(troupe.map([105, 106], chunksize=1))
            except InsufficientFunds as exc:
                caught.append(weakref.ref(exc))
            try:
                troupe.map_future([107, 108]).result(TIMEOUT)
            except InsufficientFunds as exc:
                caught.append(weakref.ref(exc))
        gc.collect()
        self.assertEqual([ref().amount for ref in caught[:3]], [101, 102, 103])
        self.assertIs(futures[0].exception(0), caught[0]())
        # The unread one; the map's chunks are gone once the threads that
        # settled them have let go of them, which may be just after the
        # with block on a busy machine.
        deadline = time.monotonic() + TIMEOUT
        while ((len(set(raised) - before) > 1 or any(ref() for ref in caught[3:]))
               and time.monotonic() < deadline):
            gc.collect()
            time.sleep(0.01)
        self.assertEqual(len(set(raised) - before), 1)
        self.assertEqual([ref() for ref in caught[3:]], [None, None])
        del futures, future, unread
        gc.collect()
        self.assertEqual([ref() for ref in caught], [None] * 5)
        self.assertEqual(set(raised) - before, set())

    def test_exceptions_carried_on_are_released(self):
        # A future that carries a task's exception on holds the task's
        # future here, and the exception's traceback holds this frame.
        raised = sys.modules['gi.overrides._tw_values']._raised
        before = set(raised)
        caught = []
        with Tw.Troupe(func=withdraw, n_workers=2, mode=self.mode) as troupe:
            failing = [troupe.submit(amount) for amount in (101, 102)]
            everything = Tw.Future.all(failing)
            continued = failing[0].then(lambda future: 0)
            for future in (everything, continued, failing[0]):
                try:
                    future.result(TIMEOUT)
                except InsufficientFunds as exc:
                    caught.append(weakref.ref(exc))
        # The task's own exception object, wherever it is raised from.
        self.assertIs(caught[1](), caught[2]())
        if everything.exception(0).amount == 101:
            self.assertIs(caught[0](), caught[2]())
        del failing, everything, continued, future
        gc.collect()
        self.assertEqual([ref() for ref in caught], [None] * 3)
        self.assertEqual(set(raised) - before, set())


class ProcessValues(Values, unittest.TestCase):
    mode = 'process'

    def test_unpicklable_input_fails_at_submit(self):
        completed = self.troupe.props.n_completed
        with self.assertRaises(TypeError) as caught:
            self.troupe.submit(threading.Lock())
        self.assertEqual(str(caught.exception), "cannot pickle '_thread.lock' object")
        self.assertEqual(self.troupe.props.n_completed, completed)

    def test_small_numbers_travel_as_plain_variants(self):
        # They round-trip through 'x' and 'd' exactly, at half the cost.
        self.assertEqual(self.troupe.submit(7).wait(-1).get_type_string(), 'x')
        self.assertEqual(self.troupe.submit(0.5).wait(-1).get_type_string(), 'd')
        for value in (2 ** 63, True, Colour.RED, 'text'):
            self.assertEqual(self.troupe.submit(value).wait(-1).get_type_string(), '(say)')

    def test_result_is_a_copy(self):
        future = self.troupe.submit(Account('carol', 5))
        first, second = future.result(TIMEOUT), future.result(TIMEOUT)
        self.assertEqual(first, second)
        self.assertIsNot(first, second)


class Map:
    mode = None

    def test_map_keeps_input_order(self):
        with Tw.Troupe(func=square, n_workers=2, mode=self.mode) as troupe:
            self.assertEqual(list(troupe.map(range(1000))), [i * i for i in range(1000)])
            self.assertEqual(list(troupe.map(i for i in range(5))), [0, 1, 4, 9, 16])
            self.assertEqual(list(troupe.map([])), [])
        with Tw.Troupe(func=square_point, n_workers=2, mode=self.mode) as troupe:
            self.assertEqual(list(troupe.map([Point(1, 2)] * 3, chunksize=2)),
                             [Point(1, 4)] * 3)

    def test_chunks_are_tasks(self):
        with Tw.Troupe(func=square, n_workers=2, mode=self.mode) as troupe:
            self.assertEqual(sum(troupe.map(range(100), chunksize=30)), 328350)
            self.assertEqual(troupe.props.n_completed, 4)
            # None: about sixteen chunks per worker.
            self.assertEqual(len(list(troupe.map(range(1000)))), 1000)
            self.assertEqual(troupe.props.n_completed, 4 + 32)
            with self.assertRaises(ValueError):
                troupe.map(range(3), chunksize=0)

    def test_map_timeout(self):
        with Tw.Troupe(func=sleep_then_return, n_workers=1, mode=self.mode) as troupe:
            troupe.submit(0).result(TIMEOUT)       # the worker is up
            started = time.monotonic()
            results = troupe.map([0, 3, 3], chunksize=1, timeout=1)
            self.assertEqual(next(results), 0)
            with self.assertRaises(Tw.FutureTimeoutError):
                next(results)
            self.assertLess(time.monotonic() - started, 2.9)
            del results

    def test_dropping_the_iterator_cancels_the_rest(self):
        with Tw.Troupe(func=sleep_then_return, n_workers=1, mode=self.mode) as troupe:
            results = troupe.map([0, 0.3, 0.3, 0.3, 0.3], chunksize=1)
            self.assertEqual(next(results), 0)
            del results
        self.assertGreaterEqual(troupe.props.n_cancelled, 3)

    def test_map_unordered(self):
        with Tw.Troupe(func=sleep_then_return, n_workers=3, mode=self.mode) as troupe:
            results = troupe.map_unordered([0.6, 0, 0.3], chunksize=1)
            self.assertIsInstance(results.as_completed, Tw.AsCompleted)
            if self.mode == 'thread':
                self.assertEqual(list(results), [0, 0.3, 0.6])
            else:
                # Worker processes may start far apart on a busy machine.
                self.assertEqual(sorted(results), [0, 0.3, 0.6])
        with Tw.Troupe(func=square, n_workers=2, mode=self.mode) as troupe:
            self.assertEqual(sorted(troupe.map_unordered(range(50), chunksize=7)),
                             [i * i for i in range(50)])
            self.assertEqual(troupe.props.n_completed, 8)


class ThreadMap(Map, unittest.TestCase):
    mode = 'thread'


class ProcessMap(Map, unittest.TestCase):
    mode = 'process'


class WorkerClasses:
    mode = None

    def test_plain_keyword_arguments(self):
        with Tw.Troupe(worker=Scaler, worker_kwargs={'factor': 3, 'offset': 1},
                       n_workers=2, mode=self.mode) as troupe:
            self.assertEqual(list(troupe.map(range(4))), [1, 4, 7, 10])
            self.assertEqual(troupe.submit(5).result(TIMEOUT), 16)

    def test_init_runs_once_in_the_worker(self):
        with Tw.Troupe(worker=Scaler, worker_kwargs={'factor': 1}, n_workers=1,
                       mode=self.mode) as troupe:
            outcomes = [troupe.submit('where').result(TIMEOUT) for _ in range(3)]
        init_pid, init_thread, pid, thread, _ = outcomes[0]
        self.assertEqual((init_pid, init_thread), (pid, thread))
        if self.mode == 'process':
            self.assertNotEqual(pid, os.getpid())
            self.assertEqual([o[4] for o in outcomes], [1, 1, 1])
        else:
            self.assertNotEqual(thread, threading.get_ident())
        self.assertEqual(len(set(outcomes)), 1)

    def test_subclass_chains_up(self):
        with Tw.Troupe(worker=ShiftedScaler, worker_kwargs={'factor': 2, 'shift': 10},
                       n_workers=1, mode=self.mode) as troupe:
            self.assertEqual(troupe.submit(1).result(TIMEOUT), 12)

    def test_properties_and_plain_arguments(self):
        with Tw.Troupe(worker=Labelled, worker_kwargs={'label': 'L', 'suffix': '!'},
                       n_workers=1, mode=self.mode) as troupe:
            self.assertEqual(troupe.submit('v').result(TIMEOUT), 'L:v!')

    def test_misspelt_keyword_fails_at_creation(self):
        with self.assertRaises(TypeError) as caught:
            Tw.Troupe(worker=Scaler, worker_kwargs={'factr': 3}, mode=self.mode)
        self.assertEqual(str(caught.exception), "Scaler.__init__() got an unexpected "
                         "keyword argument 'factr' (from worker_kwargs)")
        with self.assertRaises(TypeError) as caught:
            Tw.Troupe(worker=Scaler, worker_kwargs={'offset': 3}, mode=self.mode)
        self.assertIn("missing a required argument: 'factor'", str(caught.exception))
        with self.assertRaises(TypeError) as caught:
            Tw.Troupe(worker=TwTest.CWorker, worker_kwargs={'fctor': 3}, mode=self.mode)
        self.assertEqual(str(caught.exception), "worker_kwargs: TwTestCWorker has no property "
                         "'fctor', and no __init__ that takes keyword arguments")

    def test_constructed_in_python_too(self):
        worker = Scaler(4, offset=2)
        self.assertEqual(worker.work(1), 6)
        self.assertIsInstance(worker, Tw.Worker)


class ThreadWorkerClasses(WorkerClasses, unittest.TestCase):
    mode = 'thread'


class ProcessWorkerClasses(WorkerClasses, unittest.TestCase):
    mode = 'process'


taptest.main(__name__)
