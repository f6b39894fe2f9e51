#!/usr/bin/python3
# chaining.py: a squaring troupe chained into a halving troupe
#
# SPDX-License-Identifier: LGPL-2.1-or-later

from example_common import parse_options
from gi.repository import Tw


def square(x):
    return x * x


def halve(x):
    return x / 2


Tw.init()
options = parse_options()

with Tw.Troupe(func=square, n_workers=options.workers, mode=options.mode) as squarer, \
     Tw.Troupe(func=halve, n_workers=options.workers, mode=options.mode) as halver:
    # Each halving task is queued only once its square is known.
    futures = [halver.submit(squarer.submit(i)) for i in range(10)]
    print([future.result() for future in futures])
