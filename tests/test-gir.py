#!/usr/bin/python3
# test-gir.py: a smoke test of the Tw typelib from the build tree
#
# Copyright 2026 The tiny-worker developers
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run by `meson test --suite gir` with GI_TYPELIB_PATH and LD_LIBRARY_PATH
# pointing at <builddir>/tiny-worker. Prints TAP.

import sys
import traceback

try:
    import gi
    gi.require_version('GLib', '2.0')
    gi.require_version('GObject', '2.0')
    gi.require_version('Tw', '1')
    from gi.repository import GLib, GObject, Tw
except (ImportError, ValueError) as e:
    print('1..0 # SKIP cannot load the Tw typelib: %s' % e)
    sys.exit(0)

TIMEOUT_USEC = 30 * GLib.USEC_PER_SEC
TEST_DOMAIN = 'tw-test-python-error'


def square(value, cancellable, *user_data):
    x = value.unpack()
    return GLib.Variant('x', x * x)


class ConnectedWorker(Tw.Worker):
    __gtype_name__ = 'TwTestPythonConnectedWorker'

    foo = GObject.Property(type=str, default='none',
                           flags=GObject.ParamFlags.READWRITE | GObject.ParamFlags.CONSTRUCT_ONLY)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.connection = None

    def do_setup(self, cancellable):
        self.connection = self.foo
        return True

    def do_call(self, value, cancellable):
        return GLib.Variant('s', '%s:%d' % (self.connection, value.unpack()))


class GErrorWorker(Tw.Worker):
    __gtype_name__ = 'TwTestPythonGErrorWorker'

    def do_call(self, value, cancellable):
        raise GLib.Error('bad input %d' % value.unpack(), TEST_DOMAIN, 42)


class ExceptionWorker(Tw.Worker):
    __gtype_name__ = 'TwTestPythonExceptionWorker'

    def do_call(self, value, cancellable):
        raise ValueError('not a GLib.Error')


def wait_all(futures):
    return [f.wait(TIMEOUT_USEC).unpack() for f in futures]


def test_square_func():
    troupe = Tw.Troupe.new_for_func(square)
    troupe.props.n_workers = 2
    futures = [troupe.submit(GLib.Variant('x', i)) for i in range(10)]
    results = wait_all(futures)
    troupe.shutdown(Tw.ShutdownMode.DRAIN)
    assert results == [i * i for i in range(10)], results
    assert troupe.props.n_completed == 10, troupe.props.n_completed


def test_worker_property():
    props = GLib.Variant('a{sv}', {'foo': GLib.Variant('s', 'bar')})
    troupe = Tw.Troupe.new_for_worker(ConnectedWorker.__gtype__, props)
    troupe.props.n_workers = 2
    futures = [troupe.submit(GLib.Variant('x', i)) for i in range(10)]
    results = wait_all(futures)
    troupe.shutdown(Tw.ShutdownMode.DRAIN)
    assert results == ['bar:%d' % i for i in range(10)], results


def test_gerror_kept():
    troupe = Tw.Troupe.new_for_worker(GErrorWorker.__gtype__, None)
    troupe.props.n_workers = 1
    future = troupe.submit(GLib.Variant('x', 7))
    try:
        future.wait(TIMEOUT_USEC)
    except GLib.Error as e:
        assert e.domain == TEST_DOMAIN, e.domain
        assert e.code == 42, e.code
        assert e.message == 'bad input 7', e.message
    else:
        raise AssertionError('the task did not fail')
    finally:
        troupe.shutdown(Tw.ShutdownMode.DRAIN)
    assert future.get_state() == Tw.FutureState.FAILED, future.get_state()


def test_exception_invalid_result():
    troupe = Tw.Troupe.new_for_worker(ExceptionWorker.__gtype__, None)
    troupe.props.n_workers = 1
    future = troupe.submit(GLib.Variant('x', 1))
    try:
        future.wait(TIMEOUT_USEC)
    except GLib.Error as e:
        assert e.matches(Tw.error_quark(), Tw.Error.INVALID_RESULT), (e.domain, e.code)
        assert e.code == 3, e.code
    else:
        raise AssertionError('the task did not fail')
    finally:
        troupe.shutdown(Tw.ShutdownMode.DRAIN)


TESTS = [
    ('square ints through Tw.Troupe.new_for_func', test_square_func),
    ('Tw.Worker subclass with a construct property', test_worker_property),
    ('GLib.Error from a worker keeps domain, code and message', test_gerror_kept),
    ('other exceptions give TW_ERROR_INVALID_RESULT', test_exception_invalid_result),
]


def main():
    failed = 0
    print('1..%d' % len(TESTS))
    for number, (name, func) in enumerate(TESTS, 1):
        try:
            func()
        except Exception:
            failed += 1
            print('not ok %d - %s' % (number, name))
            for line in traceback.format_exc().splitlines():
                print('# ' + line)
        else:
            print('ok %d - %s' % (number, name))
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
