#!/usr/bin/python3
# test_values.py: plain Python values through troupes, in both modes
#
# Copyright 2026 The tiny-worker developers
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import math
import unittest

import taptest
from gi.repository import GLib, Tw

TIMEOUT = 30


def identity(value):
    return value


def type_names(value):
    """What the worker got, so the test sees the input side of the mapping."""
    if isinstance(value, (list, tuple)):
        return [type(value).__name__] + [type_names(item) for item in value]
    if isinstance(value, dict):
        return [type(value).__name__] + sorted(type_names(item) for item in value.items())
    return type(value).__name__


class EchoWorker(Tw.Worker):
    """Returns its input GVariant as it is."""

    def do_call(self, input, cancellable):
        return input


Tw.init()

VALUES = [
    None,
    True,
    False,
    0,
    -1,
    2 ** 31,
    -2 ** 31 - 1,
    2 ** 40,
    2 ** 63 - 1,
    -2 ** 63,
    2 ** 63,
    2 ** 64 - 1,
    0.0,
    -0.0,
    1.5,
    1e308,
    5e-324,
    math.inf,
    -math.inf,
    math.nan,
    '',
    'plain',
    'héllo wörld ✓',
    b'',
    b'\x00\x01\xfe\xff',
    b'bytes stay bytes',
    [],
    [1, 'two', 3.0, None, True, b'six', [7], (8,), {'nine': 9}],
    (),
    (1,),
    (1, 'a', (2.5, [b'x', None]), {'k': (1, 2)}),
    {},
    {'a': 1, 'b': [1, 2.5, 'c'], 'c': {'d': None}, 'e': (True, b'')},
    {1: 'one', -2 ** 63: 'min', 2 ** 40: 'big'},
    {2 ** 63: 'x', 2 ** 64 - 1: 'y'},
    {True: 'yes', False: 'no'},
    {0.5: 'half', -1.25: 'neg'},
    [[[[[]]]]],
    {'nested': [{'deep': [(1, {'deeper': [None]})]}]},
]


def same(a, b):
    """Equal and of the same types all the way down (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        keys = {key: key for key in b}
        return len(a) == len(b) and all(key in keys and same(key, keys[key]) and
                                        same(value, b[key]) for key, value in a.items())
    return a == b


class ValueMapping(unittest.TestCase):
    """The mapping itself, without a troupe."""

    def test_every_value_round_trips(self):
        for value in VALUES:
            back = Tw.from_variant(Tw.to_variant(value))
            self.assertTrue(same(value, back), '%r came back as %r' % (value, back))

    def test_variant_types(self):
        cases = [
            (None, 'mv'), (True, 'b'), (1, 'x'), (-2 ** 63, 'x'), (2 ** 63, 't'),
            (2 ** 64 - 1, 't'), (1.0, 'd'), ('s', 's'), (b'b', 'ay'),
            (bytearray(b'b'), 'ay'), ([], 'av'), ([1, 'a'], 'av'), ((), '()'),
            ((1, 'a', [2]), '(xsav)'), ({}, 'a{sv}'), ({'a': 1}, 'a{sv}'),
            ({1: 'a'}, 'a{xv}'), ({2 ** 63: 'a'}, 'a{tv}'), ({True: 1}, 'a{bv}'),
            ({1.5: 1}, 'a{dv}'), (GLib.Variant('u', 7), 'u'),
        ]
        for value, type_string in cases:
            self.assertEqual(Tw.to_variant(value).get_type_string(), type_string, repr(value))

    def test_unconvertible_values_raise(self):
        for value, error in [(2 ** 64, OverflowError), (-2 ** 63 - 1, OverflowError),
                             ('nul\0inside', ValueError), ({1, 2}, TypeError),
                             (object(), TypeError), ({1: 'a', 'b': 2}, TypeError),
                             ({(1, 2): 'tuple key'}, TypeError), ([1, {2}], TypeError)]:
            with self.assertRaises(error, msg=repr(value)):
                Tw.to_variant(value)

    def test_foreign_variants_convert_by_type(self):
        cases = [
            (GLib.Variant('y', 200), 200), (GLib.Variant('n', -5), -5),
            (GLib.Variant('q', 5), 5), (GLib.Variant('i', -7), -7),
            (GLib.Variant('u', 7), 7), (GLib.Variant('o', '/a/b'), '/a/b'),
            (GLib.Variant('g', 'a{sv}'), 'a{sv}'), (GLib.Variant('au', [1, 2]), [1, 2]),
            (GLib.Variant('as', ['a']), ['a']), (GLib.Variant('a{us}', {1: 'a'}), {1: 'a'}),
            (GLib.Variant('(ui)', (1, -1)), (1, -1)), (GLib.Variant('ms', None), None),
            (GLib.Variant('ms', 'x'), 'x'), (GLib.Variant('v', GLib.Variant('s', 'in')), 'in'),
            (GLib.Variant('aay', [b'a', b'']), [b'a', b'']),
        ]
        for variant, expected in cases:
            self.assertTrue(same(Tw.from_variant(variant), expected), variant.print_(True))


class RoundTrip:
    mode = None

    @classmethod
    def setUpClass(cls):
        cls.identity = Tw.Troupe(func=identity, n_workers=2, mode=cls.mode)
        cls.echo = Tw.Troupe(worker=EchoWorker, n_workers=1, mode=cls.mode)

    @classmethod
    def tearDownClass(cls):
        cls.identity.shutdown(Tw.ShutdownMode.DRAIN)
        cls.echo.shutdown(Tw.ShutdownMode.DRAIN)

    def test_every_value_round_trips(self):
        futures = [self.identity.submit(value) for value in VALUES]
        for value, future in zip(VALUES, futures):
            back = future.result(TIMEOUT)
            self.assertTrue(same(value, back), '%r came back as %r' % (value, back))

    def test_worker_gets_plain_values(self):
        with Tw.Troupe(func=type_names, n_workers=1, mode=self.mode) as troupe:
            value = [1, 'a', b'b', (2.0, None), {'k': True}]
            self.assertEqual(troupe.submit(value).result(TIMEOUT),
                             type_names(value))

    def test_exact_variants_cross_unchanged(self):
        for variant in [GLib.Variant('u', 7), GLib.Variant('(yqn)', (1, 2, -3)),
                        GLib.Variant('ao', ['/a', '/b']), GLib.Variant('a{ub}', {1: True}),
                        GLib.Variant('mi', 5), GLib.Variant('mi', None),
                        GLib.Variant('h', 0)]:
            if self.mode == Tw.TroupeMode.PROCESS and variant.get_type_string() == 'h':
                continue  # handles cannot cross processes
            back = self.echo.submit(variant).result_variant(TIMEOUT)
            self.assertEqual(back.get_type_string(), variant.get_type_string())
            self.assertTrue(back.equal(variant), back.print_(True))

    def test_one_mebibyte_of_bytes(self):
        data = bytes(range(256)) * 4096
        self.assertEqual(self.identity.submit(data).result(TIMEOUT), data)


class ThreadRoundTrip(RoundTrip, unittest.TestCase):
    mode = Tw.TroupeMode.THREAD


class ProcessRoundTrip(RoundTrip, unittest.TestCase):
    mode = Tw.TroupeMode.PROCESS


taptest.main(__name__)
