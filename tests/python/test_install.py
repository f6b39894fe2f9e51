#!/usr/bin/python3
# test_install.py: the PyGObject override lands where Python finds it
#
# Installs the build tree into a DESTDIR and checks that the override's
# directory is one this interpreter searches, that the typelib is found
# without GI_TYPELIB_PATH, and that the installed override works.
#
# Copyright 2026 The tiny-worker developers
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import importlib.machinery
import json
import os
import runpy
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
import unittest

import taptest

BUILD_ROOT = os.environ['TW_BUILD_ROOT']
SITE_DIR_SCRIPT = os.path.join(os.environ['TW_SOURCE_ROOT'], 'bindings', 'python', 'site-dir.py')
TIMEOUT = 60
# The override's C extension, installed next to it when it was built.
SPEEDUPS = '_tw_speedups' + importlib.machinery.EXTENSION_SUFFIXES[0]
if not os.path.exists(os.path.join(BUILD_ROOT, 'bindings', 'python', 'gi', 'overrides',
                                   SPEEDUPS)):
    SPEEDUPS = None


def clean_env(**variables):
    """The environment without what the test suite points at the build tree."""
    env = {name: value for name, value in os.environ.items()
           if name not in ('PYTHONPATH', 'GI_TYPELIB_PATH', 'LD_LIBRARY_PATH')}
    env.update(variables)
    return env


def run_python(code, env):
    return subprocess.run([sys.executable, '-c', code], env=env, capture_output=True,
                          text=True, timeout=TIMEOUT, check=True).stdout


def under(path, prefix):
    relative = os.path.relpath(path, prefix)
    return relative.split(os.sep)[0] in ('lib', 'lib64')


class SiteDir(unittest.TestCase):
    site_dir = staticmethod(runpy.run_path(SITE_DIR_SCRIPT)['site_dir'])

    def test_searched_prefixes(self):
        for prefix in ('/usr', '/usr/local', sys.prefix):
            searched = [path for path in site.getsitepackages() if under(path, prefix)]
            if searched:
                self.assertEqual(self.site_dir(prefix), searched[0])
                self.assertIn(self.site_dir(prefix), site.getsitepackages())

    def test_other_prefix(self):
        self.assertEqual(self.site_dir('/opt/tw/'),
                         sysconfig.get_path('purelib', 'posix_prefix',
                                            vars={'base': '/opt/tw', 'platbase': '/opt/tw'}))


class Installed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        meson = shutil.which('meson')
        if meson is None:
            raise unittest.SkipTest('no meson')
        cls.destdir = tempfile.mkdtemp()
        subprocess.run([meson, 'install', '-C', BUILD_ROOT, '--no-rebuild', '--quiet',
                        '--destdir', cls.destdir],
                       check=True, capture_output=True, timeout=TIMEOUT)
        options = json.loads(subprocess.run(
            [meson, 'introspect', '--buildoptions', BUILD_ROOT],
            check=True, capture_output=True, timeout=TIMEOUT).stdout)
        options = {option['name']: option['value'] for option in options}
        cls.prefix = options['prefix']
        cls.typelib_dir = os.path.join(cls.prefix, options['libdir'], 'girepository-1.0')
        cls.lib_dir = os.path.join(cls.prefix, options['libdir'])
        found = [os.path.join(directory, 'Tw.py')[len(cls.destdir):]
                 for directory, _, files in os.walk(cls.destdir) if 'Tw.py' in files]
        assert len(found) == 1, found
        cls.site_dir = os.path.dirname(os.path.dirname(os.path.dirname(found[0])))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.destdir)

    def staged(self, path):
        return self.destdir + path

    def test_override_files(self):
        overrides = self.staged(os.path.join(self.site_dir, 'gi', 'overrides'))
        expected = ['Tw.py', '_tw_fast.py', '_tw_future.py', '_tw_values.py', '_tw_workers.py']
        if SPEEDUPS:
            expected.append(SPEEDUPS)
        self.assertEqual(sorted(os.listdir(overrides)), sorted(expected))
        self.assertEqual(os.path.basename(self.site_dir).split('-')[1], 'packages')

    def test_site_dir_is_searched(self):
        searched = run_python('import site; print(repr(site.getsitepackages()))', clean_env())
        if any(under(path, self.prefix) for path in eval(searched)):
            self.assertIn(self.site_dir, eval(searched))
        else:
            # README says: put it on PYTHONPATH.
            self.assertEqual(self.site_dir, SiteDir.site_dir(self.prefix))

    def test_typelib_found_without_variables(self):
        self.assertTrue(os.path.exists(self.staged(os.path.join(self.typelib_dir,
                                                                'Tw-1.typelib'))))
        pth = self.staged(os.path.join(self.site_dir, 'tiny-worker-1.pth'))
        setup = ''
        if os.path.exists(pth):
            with open(pth) as file:
                setup = ''.join(line for line in file if line.startswith('import'))
        search_path = run_python(
            setup + 'import gi\n'
            'gi.require_version("GIRepository", "2.0")\n'
            'from gi.repository import GIRepository\n'
            'print(repr(GIRepository.Repository.get_search_path()))\n', clean_env())
        self.assertIn(self.typelib_dir, eval(search_path))
        # The user's own path comes first.
        env = clean_env(GI_TYPELIB_PATH='/nowhere')
        self.assertEqual(run_python(setup + 'import os; print(os.environ["GI_TYPELIB_PATH"])',
                                    env).split(os.pathsep)[0], '/nowhere')

    def test_installed_override_works(self):
        env = clean_env(PYTHONPATH=self.staged(self.site_dir),
                        GI_TYPELIB_PATH=self.staged(self.typelib_dir),
                        LD_LIBRARY_PATH=self.staged(self.lib_dir))
        out = run_python(
            'import sys\n'
            'from gi.repository import Tw\n'
            'with Tw.Troupe(func=abs, n_workers=1) as troupe:\n'
            '    print(troupe.submit(-3).result(30))\n'
            'print(sys.modules["gi.overrides.Tw"].__file__)\n'
            'print(getattr(sys.modules["gi.overrides._tw_fast"]._c, "__file__", None))\n', env)
        overrides = self.staged(os.path.join(self.site_dir, 'gi', 'overrides'))
        # The extension is loaded from next to the override, unless hidden.
        loaded = SPEEDUPS if os.environ.get('TW_PYTHON_SPEEDUPS') != '0' else None
        self.assertEqual(out.split('\n'), [
            '3', os.path.join(overrides, 'Tw.py'),
            str(loaded and os.path.join(overrides, SPEEDUPS)), ''])


taptest.main(__name__)
