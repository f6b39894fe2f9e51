# taptest.py: runs unittest test cases and reports them as TAP
#
# Copyright 2026 The tiny-worker developers
#
# SPDX-License-Identifier: LGPL-2.1-or-later

"""A small TAP runner for the binding suites, which `meson test` reads.

A test file defines its functions and classes, calls Tw.init() (process
mode re-runs the file as each worker, and Tw.init() turns that run into
a worker before any test code), then calls ``taptest.main(__name__)``.
"""

import sys
import unittest

import gi

gi.require_version('GLib', '2.0')
gi.require_version('GObject', '2.0')
gi.require_version('Gio', '2.0')
gi.require_version('Tw', '1')
gi.require_version('TwTest', '1')


def _tests(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from _tests(test)
        else:
            yield test


def _diagnostic(text):
    for line in text.rstrip('\n').split('\n'):
        print('# ' + line)


class _TapResult(unittest.TestResult):
    """Prints one TAP line per test as it ends."""

    def __init__(self):
        super().__init__()
        self.number = 0
        self.outcome = None

    def _report(self, test, status, directive='', text=None):
        self.number += 1
        name = test.id().split('.', 1)[-1]
        print('%s %d - %s%s' % (status, self.number, name, directive))
        if text:
            _diagnostic(text)
        sys.stdout.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self._report(test, 'ok')

    def addError(self, test, err):
        super().addError(test, err)
        self._report(test, 'not ok', '', self.errors[-1][1])

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._report(test, 'not ok', '', self.failures[-1][1])

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._report(test, 'ok', ' # SKIP ' + reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._report(test, 'not ok', ' # TODO expected failure')

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._report(test, 'ok', ' # TODO unexpected success')


def main(module_name):
    """Runs every TestCase of the module @module_name as one TAP stream."""
    if module_name != '__main__':
        return
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[module_name])
    result = _TapResult()

    print('1..%d' % suite.countTestCases(), flush=True)
    suite.run(result)
    # A failed setUpClass reports one error for the whole class, so the
    # plan may not match: TAP consumers then fail the run, as they should.
    sys.exit(0 if result.wasSuccessful() else 1)
