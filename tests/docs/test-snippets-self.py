#!/usr/bin/python3
# test-snippets-self.py: test-snippets.py fails the blocks it should fail
#
# Copyright 2026 The tiny-worker developers
#
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Usage: test-snippets-self.py TEST-SNIPPETS.PY [OPTIONS...]

Runs test-snippets.py, with OPTIONS, on fixtures.md beside it, and
checks the outcome and first reason of every block, as TAP.
"""

import os
import re
import subprocess
import sys

# (outcome, the first line of the reason) for each test, in order.
EXPECTED = [
    ('ok', None),
    ('not ok', 'does not compile'),
    ('not ok', 'exited with status 3'),
    ('skip', 'a fragment, not a complete program'),
    ('skip', 'a fragment, not a complete program'),
    ('not ok', 'exited with status 1'),
    ('ok', None),
    ('not ok', 'exited with status 1'),     # the same program, modes swapped
    ('not ok', 'left processes behind'),
    ('not ok', 'exited with status 1'),
    ('ok', None),
]


def outcomes(tap):
    results = []
    for line in tap.splitlines():
        match = re.match(r'(ok|not ok) \d+ - (.*?)(?: # SKIP (.*))?$', line)
        if match:
            outcome = 'skip' if match.group(3) else match.group(1)
            results.append([outcome, match.group(3), match.group(2)])
        elif line.startswith('# ') and results and results[-1][1] is None:
            results[-1][1] = line[2:]
    return results


def main():
    runner = sys.argv[1]
    fixtures = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures.md')
    done = subprocess.run([sys.executable, runner] + sys.argv[2:] + [fixtures],
                          stdout=subprocess.PIPE, text=True, timeout=280, check=False)
    results = outcomes(done.stdout)

    print('1..%d' % (len(EXPECTED) + 1))
    failed = 0
    for i, expected in enumerate(EXPECTED):
        got = tuple(results[i][:2]) if i < len(results) else None
        good = got == expected
        print('%s %d - %s' % ('ok' if good else 'not ok', i + 1,
                              results[i][2] if i < len(results) else 'missing'))
        if not good:
            print('# expected %r, got %r' % (expected, got))
        failed += not good
    status_good = done.returncode == 1
    print('%s %d - the runner exits with status 1' % ('ok' if status_good else 'not ok',
                                                       len(EXPECTED) + 1))
    failed += not status_good
    if failed:
        for line in done.stdout.splitlines():
            print('# | ' + line)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
