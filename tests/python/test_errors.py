#!/usr/bin/python3
# test_errors.py: errors and exceptions from Python and C workers
#
# Copyright 2026 The tiny-worker developers
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import time
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


def return_unconvertible(value):
    return {1, 2}


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

    def test_exception_becomes_gerror(self):
        with self.troupe(func=fail_with_exception) as troupe:
            future = troupe.submit(3)
            with self.assertRaises(Tw.PythonError) as caught:
                future.result(TIMEOUT)
            # The plain C API sees a GError in the Python domain.
            with self.assertRaises(GLib.Error) as raw:
                future.wait(-1)
        error = caught.exception
        self.assertIsInstance(error, GLib.Error)
        self.assertEqual(error.domain, Tw.PYTHON_ERROR_DOMAIN)
        self.assertEqual(error.code, 0)
        self.assertEqual(error.exception_type, 'ValueError')
        self.assertEqual(error.exception_message, 'bad value 3')
        self.assertTrue(error.message.startswith('ValueError: bad value 3\n\n'
                                                 'Traceback (most recent call last):\n'))
        self.assertTrue(error.traceback.startswith('Traceback (most recent call last):\n'))
        self.assertIn('in helper_that_raises', error.traceback)
        self.assertIn('in fail_with_exception', error.traceback)
        self.assertIn("raise ValueError('bad value %d' % value)", error.traceback)
        self.assertEqual(raw.exception.domain, Tw.PYTHON_ERROR_DOMAIN)
        self.assertEqual(raw.exception.message, error.message)

    def test_chained_exception_keeps_both_tracebacks(self):
        with self.troupe(func=fail_with_chained) as troupe:
            with self.assertRaises(Tw.PythonError) as caught:
                troupe.submit(0).result(TIMEOUT)
        error = caught.exception
        self.assertEqual(error.exception_type, 'MyError')
        self.assertEqual(error.exception_message, 'while handling')
        self.assertIn('KeyError', error.traceback)
        self.assertIn('direct cause', error.traceback)

    def test_unconvertible_result(self):
        with self.troupe(func=return_unconvertible) as troupe:
            with self.assertRaises(Tw.PythonError) as caught:
                troupe.submit(0).result(TIMEOUT)
        self.assertEqual(caught.exception.exception_type, 'TypeError')
        self.assertIn('set', caught.exception.exception_message)

    def test_exception_in_work(self):
        with self.troupe(worker=WorkRaises) as troupe:
            with self.assertRaises(Tw.PythonError) as caught:
                troupe.submit('x').result(TIMEOUT)
        self.assertEqual(caught.exception.exception_type, 'MyError')
        self.assertEqual(caught.exception.exception_message, 'from work x')

    def test_exception_in_do_call(self):
        with self.troupe(worker=DoCallRaises) as troupe:
            with self.assertRaises(Tw.PythonError) as caught:
                troupe.submit(1).result(TIMEOUT)
        self.assertEqual(caught.exception.exception_type, 'ZeroDivisionError')

    def test_do_call_returning_none(self):
        with self.troupe(worker=DoCallReturnsNone) as troupe:
            with self.assertRaises(Tw.PythonError) as caught:
                troupe.submit(1).result(TIMEOUT)
        self.assertEqual(caught.exception.exception_type, 'TypeError')
        self.assertIn('returned None', caught.exception.exception_message)

    def test_exception_in_setup(self):
        with self.troupe(worker=SetupRaises) as troupe:
            with self.assertRaises(Tw.PythonError) as caught:
                troupe.submit(1).result(TIMEOUT)
        self.assertEqual(caught.exception.exception_type, 'RuntimeError')
        self.assertEqual(caught.exception.exception_message, 'cannot connect')

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
        with self.assertRaises(Tw.PythonError) as caught:
            troupe.submit(GLib.Variant('x', 5)).result(TIMEOUT)
        troupe.shutdown(Tw.ShutdownMode.DRAIN)
        self.assertEqual(caught.exception.exception_type, 'ValueError')
        self.assertEqual(caught.exception.exception_message, 'raw 5')


class ThreadErrors(Errors, unittest.TestCase):
    mode = Tw.TroupeMode.THREAD

    def test_raw_new_for_func_exception(self):
        troupe = Tw.Troupe.new_for_func(raw_raises)
        with self.assertRaises(Tw.PythonError) as caught:
            troupe.submit(GLib.Variant('x', 6)).result(TIMEOUT)
        troupe.shutdown(Tw.ShutdownMode.DRAIN)
        self.assertEqual(caught.exception.exception_message, 'raw 6')

    def test_lambda_and_nested_functions_run(self):
        def nested(value):
            return value + 1
        with Tw.Troupe(func=lambda value: value * 2, n_workers=1) as doubler, \
                Tw.Troupe(func=nested, n_workers=1) as incrementer:
            self.assertEqual(doubler.submit(21).result(TIMEOUT), 42)
            self.assertEqual(incrementer.submit(41).result(TIMEOUT), 42)


class ProcessErrors(Errors, unittest.TestCase):
    mode = Tw.TroupeMode.PROCESS

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
