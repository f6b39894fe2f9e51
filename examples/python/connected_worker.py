#!/usr/bin/python3
# connected_worker.py: a worker configured by its worker_kwargs, which
# it "connects" to once, in the worker, and uses in every call
#
# SPDX-License-Identifier: LGPL-2.1-or-later

from example_common import parse_options
from gi.repository import Tw


class ConnectedWorker(Tw.Worker):
    # Runs once in each worker (thread or process) with the worker_kwargs.
    def __init__(self, foo):
        super().__init__()
        self.connection = foo

    def work(self, x):
        return '%s:%d' % (self.connection, x)

    def do_teardown(self):
        self.connection = None


# Worker classes cross to worker processes by GType name: define them
# before Tw.init().
Tw.init()
options = parse_options()

with Tw.Troupe(worker=ConnectedWorker, worker_kwargs={'foo': 'bar'},
               n_workers=options.workers, mode=options.mode) as troupe:
    futures = [troupe.submit(i) for i in range(10)]
    print([future.result() for future in futures])
