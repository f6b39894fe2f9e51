#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-headers.py PKG_CONFIG CC... -- CXX...
#
# TAP test: <tiny-worker.h> compiles as an outside program includes it,
# with the flags of `pkg-config --cflags tiny-worker-1`, as C89 with
# -pedantic (where GLib's own headers are system headers and the only
# warning allowed is a trailing enum comma), C11 with -pedantic -Werror
# and C++ with -Werror; then links it with `pkg-config --libs` and runs
# it.

import os
import subprocess
import sys
import tempfile

SOURCE = '''#include <tiny-worker.h>

int
main (void)
{
  TwTroupe *troupe = tw_troupe_new_for_func_name ("square");
  int status = tw_get_major_version () == TW_MAJOR_VERSION ? 0 : 1;

  g_object_unref (troupe);
  return status;
}
'''
ALLOWED_C89 = 'comma at end of enumerator list'


def pkg_config(pkg_config_cmd, *args):
    return subprocess.run([pkg_config_cmd] + list(args), check=True, stdout=subprocess.PIPE,
                          text=True).stdout.split()


def compile_source(argv, path):
    result = subprocess.run(argv + ['-fsyntax-only', '-fno-diagnostics-show-caret', path],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return result.returncode, result.stdout


def link_and_run(cc, cflags, pkg_config_cmd, path):
    libs = pkg_config(pkg_config_cmd, '--libs', 'tiny-worker-1')
    program = path[:-2]
    result = subprocess.run(cc + cflags + [path, '-o', program] + libs, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        return False, result.stdout
    # Where the uninstalled library is, as an installed one would be
    # found in the linker's path.
    lib_dirs = [flag[2:] for flag in libs if flag.startswith('-L')]
    env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join(
        lib_dirs + [os.environ.get('LD_LIBRARY_PATH', '')]))
    result = subprocess.run([program], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    return result.returncode == 0, result.stdout + 'exit status {}\n'.format(result.returncode)


def report(number, name, ok, output):
    for line in output.splitlines():
        print('# ' + line)
    print('{} {} - {}'.format('ok' if ok else 'not ok', number, name))


def main():
    separator = sys.argv.index('--')
    pkg_config_cmd, cc, cxx = sys.argv[1], sys.argv[2:separator], sys.argv[separator + 1:]
    cflags = pkg_config(pkg_config_cmd, '--cflags', 'tiny-worker-1')
    # -isystem wins over -I for the same directory.
    glib_system = ['-isystem' + flag[2:] for flag in
                   pkg_config(pkg_config_cmd, '--cflags-only-I', 'gio-2.0')]
    warnings = ['-Wall', '-Wextra']

    print('1..4')
    with tempfile.TemporaryDirectory(dir='.') as directory:
        c_path = directory + '/outside.c'
        with open(c_path, 'w') as f:
            f.write(SOURCE)

        status, output = compile_source(
            cc + ['-std=c89', '-pedantic'] + warnings + cflags + glib_system, c_path)
        bad = [line for line in output.splitlines()
               if (': warning: ' in line or ': error: ' in line) and ALLOWED_C89 not in line]
        report(1, 'C89 -pedantic (trailing enum commas aside)', status == 0 and not bad, output)

        status, output = compile_source(
            cc + ['-std=c11', '-pedantic', '-Werror'] + warnings + cflags, c_path)
        report(2, 'C11 -pedantic -Werror', status == 0 and not output, output)

        status, output = compile_source(
            cxx + ['-x', 'c++', '-Werror'] + warnings + cflags, c_path)
        report(3, 'C++ -Werror', status == 0 and not output, output)

        ok, output = link_and_run(cc, cflags, pkg_config_cmd, c_path)
        report(4, 'links with pkg-config --libs and runs', ok, output)
    return 0


if __name__ == '__main__':
    sys.exit(main())
