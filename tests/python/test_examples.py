#!/usr/bin/python3
# test_examples.py: the Python examples print the same line as the C ones
#
# Copyright 2026 The tiny-worker developers
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import subprocess
import unittest

import taptest

EXPECTED = {
    'square': '[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]',
    'connected_worker': "['bar:0', 'bar:1', 'bar:2', 'bar:3', 'bar:4', "
                        "'bar:5', 'bar:6', 'bar:7', 'bar:8', 'bar:9']",
    'chaining': '[0.0, 0.5, 2.0, 4.5, 8.0, 12.5, 18.0, 24.5, 32.0, 40.5]',
}

SOURCE_ROOT = os.environ['TW_SOURCE_ROOT']
BUILD_ROOT = os.environ['TW_BUILD_ROOT']


def run(argv):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=60, check=False)


class Examples(unittest.TestCase):
    def check(self, name, *options):
        script = os.path.join(SOURCE_ROOT, 'examples', 'python', name + '.py')
        done = run(['/usr/bin/python3', script] + list(options))
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, EXPECTED[name] + '\n')

    def check_c(self, name):
        program = os.path.join(BUILD_ROOT, 'examples', 'c', name.replace('_', '-'))
        if not os.path.exists(program):
            self.skipTest('the C examples are not built')
        for mode in ('thread', 'process'):
            done = run([program, '--mode=' + mode])
            self.assertEqual(done.returncode, 0, done.stderr)
            self.assertEqual(done.stdout, EXPECTED[name] + '\n')

    def test_square_thread(self):
        self.check('square', '--mode=thread')

    def test_square_process(self):
        self.check('square', '--mode=process')

    def test_square_default_one_worker(self):
        self.check('square', '--workers=1')

    def test_connected_worker_thread(self):
        self.check('connected_worker', '--mode=thread')

    def test_connected_worker_process(self):
        self.check('connected_worker', '--mode=process', '--workers', '2')

    def test_chaining_thread(self):
        self.check('chaining', '--mode=thread')

    def test_chaining_process(self):
        self.check('chaining', '--mode=process')

    def test_bad_options(self):
        for options in (['--mode=fibre'], ['--workers=0'], ['--bogus']):
            done = run(['/usr/bin/python3',
                        os.path.join(SOURCE_ROOT, 'examples', 'python', 'square.py')] + options)
            self.assertEqual(done.returncode, 2, options)
            self.assertEqual(done.stdout, '')
            self.assertIn('usage:', done.stderr)

    def test_c_examples_print_the_same_lines(self):
        for name in EXPECTED:
            self.check_c(name)


taptest.main(__name__)
