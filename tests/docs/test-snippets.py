#!/usr/bin/python3
# test-snippets.py: runs the complete programs among the code blocks of
# README.md and docs/reference/*.xml, so that a snippet that does not run
# fails the docs suite
#
# Copyright 2026 The tiny-worker developers
#
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Usage: test-snippets.py [--cc=CC] [--cflags=FLAGS] [--only-c] FILE

Prints TAP: one test per C, Python or JavaScript code block of FILE, a
Markdown file or a DocBook chapter.

A code block is one of those by its language: ```c, ```python or ```js
(or ```javascript) in Markdown, and language="c", "python" or
"javascript" on a <programlisting> in DocBook. It is a complete program,
which this script runs, when:

- C: it defines main() (a line starting with `main (` or `int main (`);
- Python: its first statement is an `import` or `from ... import`;
- JavaScript: its first statement is an `import`.

Anything else is a fragment, reported as skipped, as is a DocBook block
that is an <xi:include parse="text"> of a source file (the examples are
built and run by their own tests). A block that looks like
a program but is not meant to run as one is marked a fragment explicitly:
```c fragment in Markdown, role="fragment" in DocBook.

A program passes when it exits with status 0 within 60 s, prints no GLib
critical or warning, no JavaScript error and no Python traceback, and
leaves no process of its own behind. C programs are compiled with
-Wall -Werror against the build tree's library (its uninstalled
pkg-config file); Python and GJS programs run against the build tree
(the environment comes from meson), and a GJS import of the installed
tiny-worker.js (any file:// URL ending in tiny-worker-1/gjs/tiny-worker.js)
is pointed at the source tree's. A program that names a troupe mode
(TW_TROUPE_MODE_THREAD, Tw.TroupeMode.PROCESS, mode = 'thread', ...) runs
twice: as written, and with every mode swapped for the other one.

With --gjs-urls FILE..., it checks instead that every import statement
of the installed tiny-worker.js in those files uses one and the same URL.
"""

import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time

SOURCE_ROOT = os.environ['TW_SOURCE_ROOT']
BUILD_ROOT = os.environ['TW_BUILD_ROOT']
TIMEOUT = 60
MAX_LINES = 40   # of a failed program's output

LANGUAGES = {'c': 'c', 'python': 'python', 'py': 'python',
             'js': 'gjs', 'javascript': 'gjs'}

GJS_URL = re.compile(r"file://[^'\"\s]*/tiny-worker-1/gjs/tiny-worker\.js")
GJS_IMPORT = re.compile(r"^[ \t]*(?:\* )?import .* from '(%s)';$" % GJS_URL.pattern, re.M)
BAD_OUTPUT = re.compile(r'-CRITICAL \*\*|-WARNING \*\*|JS ERROR|^Traceback |'
                        r'runtime error:|ERROR: AddressSanitizer', re.M)

MODE_SWAPS = [
    (r'TW_TROUPE_MODE_(THREAD|PROCESS)', {'THREAD': 'PROCESS', 'PROCESS': 'THREAD'}),
    (r'Tw\.TroupeMode\.(THREAD|PROCESS)', {'THREAD': 'PROCESS', 'PROCESS': 'THREAD'}),
    (r"""\bmode\s*=\s*['"](thread|process)['"]""", {'thread': 'process', 'process': 'thread'}),
]


class Block:
    def __init__(self, path, line, language, fragment, code):
        self.path = path
        self.line = line
        self.language = language
        self.fragment = fragment
        self.code = code
        self.included = None   # the file of an xi:include, shown as it is

    @property
    def name(self):
        return '%s:%d (%s)' % (os.path.relpath(self.path, SOURCE_ROOT),
                               self.line, self.language)


def line_of(text, offset):
    return text.count('\n', 0, offset) + 1


def markdown_blocks(path, text):
    for match in re.finditer(r'^```(\w+)([^\n]*)\n(.*?)^```', text, re.M | re.S):
        language = LANGUAGES.get(match.group(1))
        if language:
            yield Block(path, line_of(text, match.start()), language,
                        'fragment' in match.group(2).split(), match.group(3))


def docbook_blocks(path, text):
    pattern = (r'<programlisting([^>]*)>(?:<!\[CDATA\[(.*?)\]\]>|'
               r'\s*<xi:include\s[^>]*href="([^"]*)"[^>]*/>\s*)</programlisting>')
    for match in re.finditer(pattern, text, re.S):
        attributes = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        language = LANGUAGES.get(attributes.get('language'))
        if language:
            block = Block(path, line_of(text, match.start()), language,
                          attributes.get('role') == 'fragment', match.group(2) or '')
            block.included = match.group(3)
            yield block


def first_statement(code, comment):
    for line in code.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(comment):
            return stripped
    return ''


def is_program(block):
    if block.fragment:
        return False
    if block.language == 'c':
        return re.search(r'^(int\s+)?main\s*\(', block.code, re.M) is not None
    if block.language == 'python':
        return re.match(r'(import|from)\s', first_statement(block.code, '#')) is not None
    return re.match(r'import\s', first_statement(block.code, '//')) is not None


def mode_variants(code):
    """The code as written, and with the modes swapped if it names one."""
    variants = [('', code)]
    swapped = code
    for pattern, swap in MODE_SWAPS:
        swapped = re.sub(pattern,
                         lambda m, swap=swap: m.group(0).replace(m.group(1), swap[m.group(1)]),
                         swapped)
    if swapped != code:
        variants.append((' (modes swapped)', swapped))
    return variants


def run(argv, cwd):
    """Runs @argv in a session of its own; returns (status, output, leftovers)."""
    # Output goes to a file, not a pipe: a leftover process holding a pipe
    # open would make the wait for its end a wait for the leftover.
    with tempfile.TemporaryFile(mode='w+') as output:
        process = subprocess.Popen(argv, cwd=cwd, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            status = process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            status = None
        leftovers = status is not None and not session_ends(process.pid)
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        output.seek(0)
        return status, output.read(), leftovers


def session_ends(pgid):
    """Whether the processes of @pgid, such as workers, end within 10 s."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def compile_c(code, workdir, options):
    source = os.path.join(workdir, 'snippet.c')
    program = os.path.join(workdir, 'snippet')
    with open(source, 'w') as f:
        f.write(code)
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(BUILD_ROOT, 'meson-uninstalled'))
    flags = subprocess.run(['pkg-config', '--cflags', '--libs', 'tiny-worker-1'],
                           env=env, stdout=subprocess.PIPE, text=True, check=True).stdout
    argv = (shlex.split(options.cc) + ['-std=gnu11', '-Wall', '-Werror', '-o', program, source] +
            shlex.split(options.cflags) + shlex.split(flags) +
            ['-Wl,-rpath,' + os.path.join(BUILD_ROOT, 'tiny-worker')])
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=TIMEOUT, check=False)
    if done.returncode != 0:
        return None, '$ %s\n%s' % (shlex.join(argv), done.stdout)
    return [program], ''


def prepare(block, code, workdir, options):
    """Writes the program; returns (argv, error)."""
    if block.language == 'c':
        return compile_c(code, workdir, options)
    if block.language == 'python':
        script = os.path.join(workdir, 'snippet.py')
        with open(script, 'w') as f:
            f.write(code)
        return ['/usr/bin/python3', script], ''
    module = 'file://' + os.path.join(SOURCE_ROOT, 'bindings', 'gjs', 'tiny-worker.js')
    script = os.path.join(workdir, 'snippet.js')
    with open(script, 'w') as f:
        f.write(GJS_URL.sub(module, code))
    return ['gjs', '-m', script], ''


def check(block, code, options):
    """Runs one program; returns the reasons it failed, or []."""
    with tempfile.TemporaryDirectory(prefix='tw-snippet-') as workdir:
        argv, error = prepare(block, code, workdir, options)
        if argv is None:
            return ['does not compile', error]
        status, output, leftovers = run(argv, workdir)
    problems = []
    if status is None:
        problems.append('did not finish within %d s' % TIMEOUT)
    elif status != 0:
        problems.append('exited with status %d' % status)
    if BAD_OUTPUT.search(output):
        problems.append('printed an error or warning')
    if leftovers:
        problems.append('left processes behind')
    if problems:
        problems.append(output)
    return problems


def blocks_of(path):
    with open(path) as f:
        text = f.read()
    if path.endswith('.md'):
        return list(markdown_blocks(path, text))
    return list(docbook_blocks(path, text))


def check_gjs_urls(paths):
    urls = {}
    for path in paths:
        with open(path) as f:
            for url in GJS_IMPORT.findall(f.read()):
                urls.setdefault(url, []).append(os.path.relpath(path, SOURCE_ROOT))
    print('1..1')
    if len(urls) == 1:
        print('ok 1 - every GJS import of tiny-worker.js uses %s' % next(iter(urls)))
        return 0
    if not urls:
        print('not ok 1 - no GJS import of tiny-worker.js found')
        return 1
    print('not ok 1 - the GJS import of tiny-worker.js differs between files')
    for url, where in sorted(urls.items()):
        print('# %s in %s' % (url, ', '.join(sorted(set(where)))))
    return 1


def parse_options(argv):
    class Options:
        cc = 'cc'
        cflags = ''
        only_c = False
        gjs_urls = False
        paths = []
    options = Options()
    for arg in argv:
        if arg.startswith('--cc='):
            options.cc = arg[len('--cc='):]
        elif arg.startswith('--cflags='):
            options.cflags = arg[len('--cflags='):]
        elif arg == '--only-c':
            options.only_c = True
        elif arg == '--gjs-urls':
            options.gjs_urls = True
        elif arg.startswith('-'):
            sys.exit(__doc__)
        else:
            options.paths.append(arg)
    if not options.paths or (len(options.paths) > 1 and not options.gjs_urls):
        sys.exit(__doc__)
    return options


def main():
    options = parse_options(sys.argv[1:])
    if options.gjs_urls:
        return check_gjs_urls(options.paths)

    tests = []
    for block in blocks_of(options.paths[0]):
        if block.included:
            tests.append((block.name, None, 'includes %s, a file that is built and tested '
                          'where it lives' % block.included))
        elif not is_program(block):
            tests.append((block.name, None, 'a fragment, not a complete program'))
        elif options.only_c and block.language != 'c':
            tests.append((block.name, None, 'no introspection in this build'))
        else:
            for suffix, code in mode_variants(block.code):
                tests.append((block.name + suffix, (block, code), None))

    print('1..%d' % len(tests))
    failed = 0
    for i, (name, job, skip) in enumerate(tests, 1):
        if job is None:
            print('ok %d - %s # SKIP %s' % (i, name, skip))
            continue
        problems = check(job[0], job[1], options)
        print('%s %d - %s' % ('not ok' if problems else 'ok', i, name))
        lines = '\n'.join(problems).rstrip().splitlines()
        for line in lines[:MAX_LINES]:
            print('# ' + line)
        if len(lines) > MAX_LINES:
            print('# … %d more lines' % (len(lines) - MAX_LINES))
        sys.stdout.flush()
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
