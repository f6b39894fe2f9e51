#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-symbols.py NM LIBRARY PKG_CONFIG CC...
#
# TAP test: the symbols that LIBRARY exports (nm -D --defined-only) are
# exactly the functions that <tiny-worker.h> declares for export, the ones
# behind a TW_AVAILABLE_IN_* macro, as the C preprocessor CC sees them
# with the flags of `pkg-config --cflags tiny-worker-1`. _TW_EXTERN, which
# those macros end in, becomes a marker that stays in its output.

import re
import subprocess
import sys

MARKER = '__tw_abi_exported__'
# Symbols every ELF shared library defines, not API.
LINKER_SYMBOLS = {'_init', '_fini', '_edata', '_end', '__bss_start'}


def exported(nm, library):
    out = subprocess.run([nm, '-D', '--defined-only', library], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    symbols = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 3:
            symbols.add(fields[2].split('@')[0])
    return symbols - LINKER_SYMBOLS


def strip_attributes(text):
    """Removes __attribute__ ((...)) groups, whose parentheses would
    look like a parameter list."""
    while True:
        start = text.find('__attribute__')
        if start < 0:
            return text
        depth, i = 0, text.index('(', start)
        while True:
            depth += {'(': 1, ')': -1}.get(text[i], 0)
            i += 1
            if depth == 0:
                break
        text = text[:start] + ' ' + text[i:]


def declared(cc, cflags):
    source = '#include <tiny-worker.h>\n'
    out = subprocess.run(cc + cflags + ['-D_TW_EXTERN=' + MARKER, '-E', '-P', '-x', 'c', '-'],
                         input=source, check=True, stdout=subprocess.PIPE, text=True).stdout
    names = set()
    # A declaration ends at ';' and follows a ';', '{' or '}'.
    for chunk in re.split(r'[;{}]', out):
        if MARKER not in chunk:
            continue
        chunk = strip_attributes(chunk.split(MARKER, 1)[1])
        match = re.search(r'([A-Za-z_][A-Za-z0-9_]*)\s*\(', chunk)
        if match is None:
            raise SystemExit('Bail out! no function name in: ' + ' '.join(chunk.split()))
        names.add(match.group(1))
    return names


def main():
    nm, library, pkg_config, cc = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    cflags = subprocess.run([pkg_config, '--cflags', 'tiny-worker-1'], check=True,
                            stdout=subprocess.PIPE, text=True).stdout.split()
    symbols = exported(nm, library)
    functions = declared(cc, cflags)

    print('1..3')
    print('# {} exported symbols, {} functions declared for export'.format(
        len(symbols), len(functions)))
    status = 'ok' if functions else 'not ok'
    print('{} 1 - the headers declare functions for export'.format(status))
    for number, (missing, what) in enumerate(
            ((functions - symbols, 'declared but not exported'),
             (symbols - functions, 'exported but not declared in a public header')), 2):
        for name in sorted(missing):
            print('# {}: {}'.format(what, name))
        print('{} {} - nothing {}'.format('not ok' if missing else 'ok', number, what))
    return 0


if __name__ == '__main__':
    sys.exit(main())
