#!/usr/bin/python3
# test_errors.py: errors and exceptions from Python and C workers
#
# Copyright 2026 The tiny-worker developers
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import threading
import time
import traceback
import unittest

import taptest
from gi.repository import Gio, GLib, Tw, TwTest

TIMEOUT = 30
TEST_DOMAIN = 'tw-test-python-domain'


class MyError(Exception):
    pass


def fail_with_gerror(value):
    raise GLib.Error('own error %d' % value, TEST_DOMAIN, 42)


def fail_with_exception(value):
    helper_that_raises(value)


def helper_that_raises(value):
    raise ValueError('bad value %d' % value)


def fail_with_chained(value):
    try:
        {}['missing']
    except KeyError as exc:
        raise MyError('while handling') from exc


def return_unpicklable(value):
    return threading.Lock()


def return_input(value):
    return value


class InsufficientFunds(ValueError):
    """Its __init__ takes other arguments than it passes to its base."""

    def __init__(self, balance, amount):
        super().__init__('balance %d is less than %d' % (balance, amount))
        self.balance = balance
        self.amount = amount


def withdraw(amount):
    error = InsufficientFunds(100, amount)
    error.add_note('note from the worker')
    raise error


class HoldsALock(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.lock = threading.Lock()


def fail_unpicklable(value):
    raise HoldsALock('locked %d' % value)


def slow(value):
    time.sleep(value)
    return value


class WorkRaises(Tw.Worker):
    def work(self, value):
        raise MyError('from work %s' % value)


class DoCallRaises(Tw.Worker):
    def do_call(self, input, cancellable):
        raise ZeroDivisionError('from do_call')


class DoCallReturnsNone(Tw.Worker):
    def do_call(self, input, cancellable):
        pass


class SetupRaises(Tw.Worker):
    def do_setup(self, cancellable):
        raise RuntimeError('cannot connect')

    def work(self, value):
        return value


class SetupRaisesGError(Tw.Worker):
    def do_setup(self, cancellable):
        raise GLib.Error('no such host', GLib.quark_to_string(Gio.io_error_quark()),
                         Gio.IOErrorEnum.HOST_NOT_FOUND)

    def work(self, value):
        return value


class Scaled(Tw.Worker):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def work(self, value):
        return value * self.factor


class SetupFalse(Tw.Worker):
    def do_setup(self, cancellable):
        return False

    def work(self, value):
        return value


def raw_raises(input, cancellable):
    raise ValueError('raw %d' % input.unpack())


Tw.register_func('tw-test-raw-raises', raw_raises)

Tw.init()


def defined_after_init(value):
    """Worker processes stop at Tw.init() and never see this function."""
    return value


class Errors:
    mode = None

    def troupe(self, **kwargs):
        return Tw.Troupe(n_workers=1, mode=self.mode, **kwargs)

    def test_gerror_round_trips(self):
        with self.troupe(func=fail_with_gerror) as troupe:
            with self.assertRaises(GLib.Error) as caught:
                troupe.submit(7).result(TIMEOUT)
        self.assertNotIsInstance(caught.exception, Tw.PythonError)
        self.assertEqual(caught.exception.domain, TEST_DOMAIN)
        self.assertEqual(caught.exception.code, 42)
        self.assertEqual(caught.exception.message, 'own error 7')

    def assert_worker_traceback(self, future, *texts):
        """The worker's traceback: the exception's own in thread mode, its
        RemoteTraceback __cause__ in process mode, as concurrent.futures.
        (assertRaises() drops the traceback, so this catches by hand.)"""
        try:
            future.result(TIMEOUT)
        except Exception as exc:
            if self.mode == Tw.TroupeMode.PROCESS:
                self.assertIsInstance(exc.__cause__, Tw.RemoteTraceback)
                text = str(exc.__cause__)
            else:
                text = ''.join(traceback.format_tb(exc.__traceback__))
        for expected in texts:
            self.assertIn(expected, text)

    def test_exception_keeps_its_type(self):
        with self.troupe(func=fail_with_exception) as troupe:
            future = troupe.submit(3)
            self.assert_worker_traceback(future, 'in helper_that_raises',
                                         'in fail_with_exception',
                                         "raise ValueError('bad value %d' % value)")
            with self.assertRaises(ValueError) as caught:
                future.result(TIMEOUT)
            # The plain C API sees a GError in the Python domain.
            with self.assertRaises(GLib.Error) as raw:
                future.wait(-1)
        self.assertIs(type(caught.exception), ValueError)
        self.assertEqual(caught.exception.args, ('bad value 3',))
        self.assertEqual(raw.exception.domain, Tw.PYTHON_ERROR_DOMAIN)
        self.assertEqual(raw.exception.code, self.error_code)
        self.assertTrue(raw.exception.message.startswith(
            'ValueError: bad value 3\n\nTraceback (most recent call last):\n'))

    def test_exception_with_other_constructor_arguments(self):
        with self.troupe(func=withdraw) as troupe:
            future = troupe.submit(150)
            with self.assertRaises(InsufficientFunds) as caught:
                future.result(TIMEOUT)
            with self.assertRaises(InsufficientFunds) as again:
                future.result(TIMEOUT)
        error = caught.exception
        self.assertEqual(error.args, ('balance 100 is less than 150',))
        self.assertEqual((error.balance, error.amount), (100, 150))
        self.assertEqual(error.__notes__, ['note from the worker'])
        if self.mode == Tw.TroupeMode.THREAD:
            self.assertIs(again.exception, error)

    def test_unpicklable_exception_becomes_python_error(self):
        with self.troupe(func=fail_unpicklable) as troupe:
            future = troupe.submit(1)
            with self.assertRaises(Exception) as caught:
                future.result(TIMEOUT)
        if self.mode == Tw.TroupeMode.THREAD:
            # By reference: nothing is pickled.
            self.assertIs(type(caught.exception), HoldsALock)
            return
        error = caught.exception
        self.assertIsInstance(error, Tw.PythonError)
        self.assertEqual(error.domain, Tw.PYTHON_ERROR_DOMAIN)
        self.assertEqual(error.code, 0)
        self.assertEqual(error.exception_type, '__main__.HoldsALock')
        self.assertEqual(error.exception_message, 'locked 1')
        self.assertTrue(error.traceback.startswith('Traceback (most recent call last):\n'))
        self.assertIn('in fail_unpicklable', error.traceback)

    def test_chained_exception_keeps_both_tracebacks(self):
        with self.troupe(func=fail_with_chained) as troupe:
            future = troupe.submit(0)
            if self.mode == Tw.TroupeMode.PROCESS:
                self.assert_worker_traceback(future, 'KeyError', 'direct cause')
            with self.assertRaises(MyError) as caught:
                future.result(TIMEOUT)
        self.assertEqual(caught.exception.args, ('while handling',))
        if self.mode == Tw.TroupeMode.THREAD:
            self.assertIsInstance(caught.exception.__cause__, KeyError)

    def test_unpicklable_result(self):
        with self.troupe(func=return_unpicklable) as troupe:
            future = troupe.submit(0)
            if self.mode == Tw.TroupeMode.THREAD:
                self.assertIs(type(future.result(TIMEOUT)), type(threading.Lock()))
                return
            with self.assertRaises(TypeError) as caught:
                future.result(TIMEOUT)
        self.assertIn('pickle', str(caught.exception))

    def test_unpicklable_input_fails_at_submit(self):
        with self.troupe(func=fail_with_exception) as troupe:
            if self.mode == Tw.TroupeMode.THREAD:
                lock = threading.Lock()
                with self.troupe(func=return_input) as identity:
                    self.assertIs(identity.submit(lock).result(TIMEOUT), lock)
                return
            with self.assertRaises(TypeError) as caught:
                troupe.submit(threading.Lock())
        self.assertIn("cannot pickle '_thread.lock' object", str(caught.exception))
        self.assertEqual(troupe.props.n_completed, 0)

    def test_exception_in_work(self):
        with self.troupe(worker=WorkRaises) as troupe:
            with self.assertRaises(MyError) as caught:
                troupe.submit('x').result(TIMEOUT)
        self.assertEqual(caught.exception.args, ('from work x',))

    def test_exception_in_do_call(self):
        with self.troupe(worker=DoCallRaises) as troupe:
            with self.assertRaises(ZeroDivisionError):
                troupe.submit(1).result(TIMEOUT)

    def test_do_call_returning_none(self):
        with self.troupe(worker=DoCallReturnsNone) as troupe:
            with self.assertRaises(TypeError) as caught:
                troupe.submit(1).result(TIMEOUT)
        self.assertIn('returned None', str(caught.exception))

    def test_exception_in_setup(self):
        with self.troupe(worker=SetupRaises) as troupe:
            with self.assertRaises(RuntimeError) as caught:
                troupe.submit(1).result(TIMEOUT)
        self.assertEqual(caught.exception.args, ('cannot connect',))

    def test_gerror_in_setup(self):
        with self.troupe(worker=SetupRaisesGError) as troupe:
            with self.assertRaises(GLib.Error) as caught:
                troupe.submit(1).result(TIMEOUT)
        self.assertTrue(caught.exception.matches(Gio.io_error_quark(),
                                                 Gio.IOErrorEnum.HOST_NOT_FOUND))
        self.assertEqual(caught.exception.message, 'no such host')

    def test_setup_false_without_error(self):
        with self.troupe(worker=SetupFalse) as troupe:
            with self.assertRaises(GLib.Error) as caught:
                troupe.submit(1).result(TIMEOUT)
        self.assertTrue(caught.exception.matches(Tw.error_quark(), Tw.Error.INVALID_RESULT))

    def test_c_worker_error_round_trips(self):
        with self.troupe(worker=TwTest.CWorker) as troupe:
            with self.assertRaises(GLib.Error) as negative:
                troupe.submit(-3).result(TIMEOUT)
            with self.assertRaises(GLib.Error) as wrong_type:
                troupe.submit(GLib.Variant('i', 3)).result(TIMEOUT)
        self.assertTrue(negative.exception.matches(Gio.io_error_quark(),
                                                   Gio.IOErrorEnum.INVALID_ARGUMENT))
        self.assertEqual(negative.exception.message, 'Negative input -3')
        self.assertTrue(wrong_type.exception.matches(Gio.io_error_quark(),
                                                     Gio.IOErrorEnum.INVALID_DATA))
        self.assertEqual(wrong_type.exception.message, 'Expected an int64, got i')

    def test_timeout(self):
        with self.troupe(func=slow) as troupe:
            future = troupe.submit(0.5)
            with self.assertRaises(Tw.FutureTimeoutError) as caught:
                future.result(timeout=0.01)
            self.assertIsInstance(caught.exception, TimeoutError)
            self.assertIsInstance(caught.exception, GLib.Error)
            self.assertTrue(caught.exception.matches(Gio.io_error_quark(),
                                                     Gio.IOErrorEnum.TIMED_OUT))
            self.assertFalse(future.done())
            # The future stays usable.
            self.assertEqual(future.result(TIMEOUT), 0.5)
            self.assertTrue(future.done())

    def test_submit_after_shutdown(self):
        troupe = self.troupe(worker=TwTest.CWorker)
        troupe.shutdown(Tw.ShutdownMode.DRAIN)
        with self.assertRaises(GLib.Error) as caught:
            troupe.submit(1).result(TIMEOUT)
        self.assertTrue(caught.exception.matches(Tw.error_quark(), Tw.Error.SHUT_DOWN))

    def test_raw_function_exception(self):
        troupe = Tw.Troupe.new_for_func_name('tw-test-raw-raises')
        troupe.set_mode(self.mode)
        with self.assertRaises(ValueError) as caught:
            troupe.submit(GLib.Variant('x', 5)).result(TIMEOUT)
        troupe.shutdown(Tw.ShutdownMode.DRAIN)
        self.assertEqual(caught.exception.args, ('raw 5',))


class ThreadErrors(Errors, unittest.TestCase):
    mode = Tw.TroupeMode.THREAD
    error_code = 2

    def test_raw_new_for_func_exception(self):
        troupe = Tw.Troupe.new_for_func(raw_raises)
        with self.assertRaises(ValueError) as caught:
            troupe.submit(GLib.Variant('x', 6)).result(TIMEOUT)
        troupe.shutdown(Tw.ShutdownMode.DRAIN)
        self.assertEqual(caught.exception.args, ('raw 6',))

    def test_lambda_and_nested_functions_run(self):
        def nested(value):
            return value + 1
        with Tw.Troupe(func=lambda value: value * 2, n_workers=1) as doubler, \
                Tw.Troupe(func=nested, n_workers=1) as incrementer:
            self.assertEqual(doubler.submit(21).result(TIMEOUT), 42)
            self.assertEqual(incrementer.submit(41).result(TIMEOUT), 42)


class ProcessErrors(Errors, unittest.TestCase):
    mode = Tw.TroupeMode.PROCESS
    error_code = 1

    def test_lambda_refused_at_construction(self):
        with self.assertRaises(ValueError) as caught:
            Tw.Troupe(func=lambda value: value, mode=self.mode)
        self.assertIn('<lambda>', str(caught.exception))
        self.assertIn('module level', str(caught.exception))

    def test_nested_function_refused_at_construction(self):
        def nested(value):
            return value
        with self.assertRaises(ValueError) as caught:
            Tw.Troupe(func=nested, mode='process')
        self.assertIn('nested_function_refused_at_construction.<locals>.nested',
                      str(caught.exception))

    def test_lambda_refused_at_submit(self):
        troupe = Tw.Troupe(func=lambda value: value, n_workers=1)
        troupe.props.mode = Tw.TroupeMode.PROCESS
        with self.assertRaises(ValueError) as caught:
            troupe.submit(1)
        self.assertIn('cannot run in process mode', str(caught.exception))
        troupe.shutdown(Tw.ShutdownMode.DRAIN)

    def test_thread_mode_worker_kwargs_refused_at_submit(self):
        # Kept by reference in this process, which a worker process cannot read.
        troupe = Tw.Troupe(worker=Scaled, worker_kwargs={'factor': 3}, n_workers=1)
        troupe.props.mode = Tw.TroupeMode.PROCESS
        with self.assertRaises(ValueError) as caught:
            troupe.submit(1)
        self.assertIn('worker_kwargs', str(caught.exception))
        self.assertIn('mode="process"', str(caught.exception))
        troupe.shutdown(Tw.ShutdownMode.DRAIN)
        with Tw.Troupe(worker=Scaled, worker_kwargs={'factor': 3}, n_workers=1,
                       mode=self.mode) as troupe:
            self.assertEqual(troupe.submit(2).result(TIMEOUT), 6)

    def test_raw_new_for_func_not_supported(self):
        troupe = Tw.Troupe.new_for_func(raw_raises)
        troupe.set_mode(self.mode)
        with self.assertRaises(GLib.Error) as caught:
            troupe.submit(GLib.Variant('x', 1)).result(TIMEOUT)
        troupe.shutdown(Tw.ShutdownMode.DRAIN)
        self.assertTrue(caught.exception.matches(Gio.io_error_quark(),
                                                 Gio.IOErrorEnum.NOT_SUPPORTED))

    def test_function_unknown_to_the_worker_process(self):
        with self.troupe(func=defined_after_init) as troupe:
            with self.assertRaises(GLib.Error) as caught:
                troupe.submit(1).result(TIMEOUT)
        self.assertTrue(caught.exception.matches(Tw.error_quark(), Tw.Error.UNKNOWN_FUNC))
        self.assertIn('__main__:defined_after_init', caught.exception.message)
        self.assertIn('before Tw.init()', caught.exception.message)


taptest.main(__name__)
