#!/usr/bin/python3
# test_gir.py: the generated Tw-1.gir says what the C API means
#
# Copyright 2026 The tiny-worker developers
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# g-ir-scanner is silent about a missing (transfer), (scope) or
# (out caller-allocates) annotation: it guesses, and the bindings then leak,
# double-free or hang. This reads Tw-1.gir (TW_GIR) and checks every
# callable against what the C code does.

import os
import unittest
import xml.etree.ElementTree as ElementTree

import taptest

CORE = '{http://www.gtk.org/introspection/core/1.0}'
C_IDENTIFIER = '{http://www.gtk.org/introspection/c/1.0}identifier'
CALLABLES = ('function', 'method', 'constructor', 'virtual-method', 'callback')

# Callables whose parameters are not simply "in, transfer none", and whose
# return value is not "transfer none": every entry is what the C code does.
# Parameters: name -> {attribute: value}; 'return' -> the return value's.
EXPECTED = {
    'TwFunc': {
        'throws': '1',
        'return': {'transfer-ownership': 'full', 'nullable': '1', 'type': 'GLib.Variant'},
        'input': {'transfer-ownership': 'none', 'type': 'GLib.Variant'},
        'cancellable': {'transfer-ownership': 'none', 'nullable': '1'},
        'user_data': {'closure': '2'},
    },
    'TwWorker.call': {   # the virtual method, as bindings implement it
        'throws': '1',
        'return': {'transfer-ownership': 'full', 'type': 'GLib.Variant'},
        'input': {'transfer-ownership': 'none', 'type': 'GLib.Variant'},
        'cancellable': {'transfer-ownership': 'none', 'nullable': '1'},
    },
    'TwWorker.setup': {
        'throws': '1',
        'return': {'transfer-ownership': 'none', 'type': 'gboolean'},
        'cancellable': {'transfer-ownership': 'none', 'nullable': '1'},
    },
    'TwWorker.teardown': {
        'throws': None,
        'return': {'type': 'none'},
    },
    'tw_worker_call': {
        'throws': '1',
        'return': {'transfer-ownership': 'full', 'type': 'GLib.Variant'},
        'input': {'transfer-ownership': 'none'},
        'cancellable': {'nullable': '1'},
    },
    'tw_troupe_new_for_func': {
        'return': {'transfer-ownership': 'full', 'type': 'Troupe'},
        'func': {'scope': 'notified', 'closure': '1', 'destroy': '2', 'type': 'Func'},
        'user_data': {'nullable': '1'},
        'destroy': {'nullable': '1', 'type': 'GLib.DestroyNotify'},
    },
    'tw_register_func': {
        'name': {'transfer-ownership': 'none', 'type': 'utf8'},
        'func': {'scope': 'notified', 'closure': '2', 'destroy': '3', 'type': 'Func'},
        'destroy': {'nullable': '1'},
    },
    'tw_troupe_new_for_worker': {
        'return': {'transfer-ownership': 'full'},
        'worker_type': {'type': 'GType'},
        # A floating value is sunk: the caller keeps its own reference.
        'worker_properties': {'transfer-ownership': 'none', 'nullable': '1'},
    },
    'tw_troupe_new_for_func_name': {'return': {'transfer-ownership': 'full'}},
    'tw_troupe_submit': {
        'return': {'transfer-ownership': 'full', 'type': 'Future'},
        'input': {'transfer-ownership': 'none', 'type': 'GLib.Variant'},
    },
    'tw_troupe_submit_future': {
        'return': {'transfer-ownership': 'full', 'type': 'Future'},
        'input': {'transfer-ownership': 'none', 'type': 'Future'},
    },
    'tw_troupe_shutdown_async': {
        'cancellable': {'nullable': '1'},
        'callback': {'scope': 'async', 'closure': '3', 'nullable': '1'},
    },
    'tw_troupe_shutdown_finish': {
        'throws': '1',
        'result': {'transfer-ownership': 'none', 'type': 'Gio.AsyncResult'},
    },
    'tw_troupe_dup_worker_argv': {'return': {'transfer-ownership': 'full', 'nullable': '1',
                                             'zero-terminated': '1'}},
    'tw_troupe_set_worker_argv': {'argv': {'transfer-ownership': 'none', 'nullable': '1',
                                           'zero-terminated': '1'}},
    'tw_future_new_for_value': {
        'return': {'transfer-ownership': 'full'},
        'value': {'transfer-ownership': 'none'},
    },
    'tw_future_new_for_error': {
        'return': {'transfer-ownership': 'full'},
        'error': {'transfer-ownership': 'full', 'type': 'GLib.Error'},
    },
    'tw_future_wait': {
        'throws': '1',
        'return': {'transfer-ownership': 'full', 'type': 'GLib.Variant'},
        'timeout_usec': {'type': 'gint64'},
    },
    'tw_future_wait_async': {
        'cancellable': {'nullable': '1'},
        'callback': {'scope': 'async', 'closure': '2', 'nullable': '1'},
    },
    'tw_future_wait_finish': {
        'throws': '1',
        'return': {'transfer-ownership': 'full', 'type': 'GLib.Variant'},
    },
}


def load():
    return ElementTree.parse(os.environ['TW_GIR']).getroot()


def key_of(element, parent):
    tag = element.tag[len(CORE):]
    if tag == 'callback' and parent is not None and parent.tag == CORE + 'record':
        return None  # the class struct's fields repeat the virtual methods
    if tag == 'virtual-method':
        return 'Tw%s.%s' % (parent.get('name'), element.get('name'))
    if tag == 'callback':
        return 'Tw' + element.get('name')
    return element.get(C_IDENTIFIER)


def callables(root):
    """Yields (key, element) for every callable in the namespace."""
    parents = {child: parent for parent in root.iter() for child in parent}
    for element in root.iter():
        if element.tag[len(CORE):] in CALLABLES:
            key = key_of(element, parents.get(element))
            if key is not None:
                yield key, element


def describe(element):
    """The attributes this test checks, with the type or array folded in."""
    attributes = dict(element.attrib)
    attributes.pop('name', None)
    type_element = element.find(CORE + 'type')
    array = element.find(CORE + 'array')
    if type_element is not None:
        attributes['type'] = type_element.get('name')
    elif array is not None:
        attributes['zero-terminated'] = array.get('zero-terminated', '1')
        attributes['type'] = 'array'
    return attributes


def parameters(element):
    params = element.find(CORE + 'parameters')
    if params is None:
        return []
    return [p for p in params if p.tag == CORE + 'parameter']


class Gir(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = load()
        cls.callables = dict(callables(cls.root))

    def test_expected_callables_exist(self):
        missing = sorted(set(EXPECTED) - set(self.callables))
        self.assertEqual(missing, [])

    def test_expected_annotations(self):
        problems = []
        for key, expected in EXPECTED.items():
            element = self.callables.get(key)
            if element is None:
                continue
            if 'throws' in expected and element.get('throws') != expected['throws']:
                problems.append('%s: throws=%s' % (key, element.get('throws')))
            found = {'return': describe(element.find(CORE + 'return-value'))}
            found.update((p.get('name'), describe(p)) for p in parameters(element))
            for name, attributes in expected.items():
                if name == 'throws':
                    continue
                if name not in found:
                    problems.append('%s: no parameter %s' % (key, name))
                    continue
                for attribute, value in attributes.items():
                    if found[name].get(attribute) != value:
                        problems.append('%s %s: %s=%s, expected %s' % (
                            key, name, attribute, found[name].get(attribute), value))
        self.assertEqual(problems, [])

    def test_no_out_parameters(self):
        # No public function has an out parameter (GJS loses the error of
        # a failed call that leaves an out GValue unset); a new one must
        # come with (out caller-allocates) or (out) (transfer ...) here.
        outs = ['%s %s' % (key, p.get('name'))
                for key, element in self.callables.items()
                for p in parameters(element)
                if p.get('direction', 'in') != 'in' or p.get('caller-allocates')]
        self.assertEqual(outs, [])

    def test_values_and_objects_are_owned_as_in_c(self):
        problems = []
        for key, element in self.callables.items():
            returned = describe(element.find(CORE + 'return-value'))
            if returned.get('type') in ('GLib.Variant', 'Future', 'Troupe') and \
                    returned.get('transfer-ownership') != 'full':
                problems.append('%s returns %s transfer %s' % (
                    key, returned['type'], returned.get('transfer-ownership')))
            for p in parameters(element):
                attributes = describe(p)
                if attributes.get('type') == 'GLib.Variant' and \
                        attributes.get('transfer-ownership') != 'none':
                    problems.append('%s %s: GVariant transfer %s' % (
                        key, p.get('name'), attributes.get('transfer-ownership')))
        self.assertEqual(problems, [])

    def test_every_callback_parameter_has_a_scope(self):
        namespace = self.root.find(CORE + 'namespace')
        callback_types = {'Gio.AsyncReadyCallback', 'GLib.DestroyNotify'}
        callback_types.update(c.get('name') for c in namespace.findall(CORE + 'callback'))
        problems = ['%s %s' % (key, p.get('name'))
                    for key, element in self.callables.items()
                    for p in parameters(element)
                    if describe(p).get('type') in callback_types and p.get('scope') is None]
        self.assertEqual(problems, [])

    def test_virtual_methods_match_their_invokers(self):
        worker = self.root.find('.//%sclass[@name="Worker"]' % CORE)
        self.assertEqual(worker.get('abstract'), '1')
        for vfunc in worker.findall(CORE + 'virtual-method'):
            invoker = worker.find('%smethod[@name="%s"]' % (CORE, vfunc.get('invoker')))
            self.assertIsNotNone(invoker, vfunc.get('name'))
            self.assertEqual(vfunc.get('throws'), invoker.get('throws'))
            self.assertEqual(describe(vfunc.find(CORE + 'return-value')),
                             describe(invoker.find(CORE + 'return-value')))
            self.assertEqual([describe(p) for p in parameters(vfunc)],
                             [describe(p) for p in parameters(invoker)])

    def test_process_main_is_a_namespace_function(self):
        # A name with the prefix of TwWorker would be filed under Tw.Worker.
        namespace = self.root.find(CORE + 'namespace')
        functions = {f.get(C_IDENTIFIER) for f in namespace.findall(CORE + 'function')}
        self.assertIn('tw_process_main', functions)
        self.assertIn('tw_is_worker_process', functions)


taptest.main(__name__)
