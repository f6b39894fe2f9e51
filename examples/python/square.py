#!/usr/bin/python3
# square.py: square 0..9 on a troupe of workers
#
# SPDX-License-Identifier: LGPL-2.1-or-later

from example_common import parse_options
from gi.repository import Tw


def square(x):
    return x * x


# Process mode re-runs this script as each worker: Tw.init() turns that run
# into a worker, which finds square() by module and name.
Tw.init()
options = parse_options()

with Tw.Troupe(func=square, n_workers=options.workers, mode=options.mode) as troupe:
    futures = [troupe.submit(i) for i in range(10)]
    print([future.result() for future in futures])
