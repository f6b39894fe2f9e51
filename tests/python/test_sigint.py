#!/usr/bin/python3
# test_sigint.py: Ctrl-C while a Python program waits on tiny-worker
#
# Each case runs this file again as a program ("child" mode) in its own
# process group, waits until its tasks run, sends it SIGINT (to its pid,
# or to the whole group as a terminal does) and checks that it ends with
# a plain KeyboardInterrupt, in time, and leaves no worker behind.
#
# Copyright 2026 The tiny-worker developers
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import concurrent.futures
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

import taptest
from gi.repository import Tw

TIMEOUT = 30
# How long the program may take to raise KeyboardInterrupt, and to exit.
RAISE_BOUND = 0.5
EXIT_BOUND = 2.0
# How long the program may need after printing 'ready' to start waiting.
PAST_READY = {'drain': 0.2, 'map': 0.3}


def nap(seconds):
    """Long work that does not look at its cancellable."""
    time.sleep(seconds)
    return os.getpid()


def poll(seconds):
    """Long work that stops when its task is cancelled."""
    cancellable = Tw.current_cancellable()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        cancellable.set_error_if_cancelled()
        time.sleep(0.005)
    return os.getpid()


Tw.init()


def child_wait(troupe, how, futures):
    if how == 'result':
        futures[0].result()
    elif how == 'exception':
        futures[0].exception()
    elif how == 'as_completed':
        for _ in concurrent.futures.as_completed(futures):
            pass
    elif how == 'tw_as_completed':
        for _ in Tw.as_completed(futures):
            pass
    elif how == 'map':
        list(troupe.map([TIMEOUT, TIMEOUT]))
    elif how == 'drain':
        pass   # leaving the with block drains


def worker_pids(troupe, n):
    """The pids of the troupe's n worker processes. A worker that starts
    late leaves both warm-up tasks to the other, so warm up until each
    has answered."""
    pids = set()
    deadline = time.monotonic() + TIMEOUT
    while len(pids) < n and time.monotonic() < deadline:
        warm = [troupe.submit(0.2) for _ in range(n)]
        pids.update(future.result() for future in warm)
    return pids


def child(mode, how):
    """The program under test: prints its worker pids and 'ready', then
    waits; prints 'interrupted' as KeyboardInterrupt goes by."""
    # A thread cannot be stopped: only work that polls ends early there.
    func = nap if mode == 'process' else poll
    try:
        with Tw.Troupe(func=func, mode=mode, n_workers=2) as troupe:
            print('pids', *sorted(worker_pids(troupe, 1 if mode == 'thread' else 2)),
                  flush=True)
            futures = [troupe.submit(TIMEOUT) for _ in range(4)]
            while sum(future.running() for future in futures) < 2:
                time.sleep(0.005)
            try:
                print('ready', flush=True)
                child_wait(troupe, how, futures)
            except KeyboardInterrupt:
                print('interrupted', flush=True)
                raise
    except KeyboardInterrupt:
        if how == 'drain':
            print('interrupted', flush=True)
        raise


def alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as stat:
            return stat.read().split(') ')[1][0] != 'Z'
    except FileNotFoundError:
        return False


class CtrlC(unittest.TestCase):
    def run_child(self, mode, how, group):
        program = subprocess.Popen([sys.executable, __file__, 'child', mode, how],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, start_new_session=True)
        try:
            pids = [int(pid) for pid in program.stdout.readline().split()[1:]]
            self.assertEqual(program.stdout.readline(), 'ready\n')
            # Into the drain; past map()'s conversion of its inputs, where
            # a KeyboardInterrupt that lands in GLib.Variant.__del__ is
            # lost (Python ignores exceptions raised in __del__).
            time.sleep(PAST_READY.get(how, 0))
            sent = time.monotonic()
            if group:
                os.killpg(program.pid, signal.SIGINT)
            else:
                os.kill(program.pid, signal.SIGINT)
            interrupted = program.stdout.readline()
            raised = time.monotonic() - sent
            out, err = program.communicate(timeout=TIMEOUT)
            exited = time.monotonic() - sent
        finally:
            if program.poll() is None:
                os.killpg(program.pid, signal.SIGKILL)
                program.wait()
        return pids, interrupted + out, err, program.returncode, raised, exited

    def check(self, mode, how, group=False):
        pids, out, err, status, raised, exited = self.run_child(mode, how, group)
        print('# %s %s%s: KeyboardInterrupt after %.3f s, exit after %.3f s'
              % (mode, how, ' (group)' if group else '', raised, exited))
        self.assertEqual(status, -signal.SIGINT, err)
        # A plain KeyboardInterrupt, with nothing from the workers.
        self.assertEqual(err.rstrip('\n').split('\n')[-1], 'KeyboardInterrupt', err)
        self.assertEqual(err.count('Traceback'), 1, err)
        self.assertNotIn('Error', err)
        self.assertEqual(out, 'interrupted\n')
        if how != 'drain':
            self.assertLess(raised, RAISE_BOUND)
        self.assertLess(exited, EXIT_BOUND)
        self.assertEqual(len(pids), 1 if mode == 'thread' else 2)
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual([pid for pid in pids if alive(pid)], [])

    def test_thread_result(self):
        self.check('thread', 'result')

    def test_thread_exception_group(self):
        self.check('thread', 'exception', group=True)

    def test_thread_as_completed(self):
        self.check('thread', 'as_completed')

    def test_thread_tw_as_completed(self):
        self.check('thread', 'tw_as_completed')

    def test_thread_map(self):
        self.check('thread', 'map')

    def test_thread_drain(self):
        self.check('thread', 'drain')

    def test_process_result(self):
        self.check('process', 'result')

    def test_process_result_group(self):
        self.check('process', 'result', group=True)

    def test_process_as_completed_group(self):
        self.check('process', 'as_completed', group=True)

    def test_process_drain_group(self):
        self.check('process', 'drain', group=True)


class Interrupted(Exception):
    pass


def interrupt(signum, frame):
    raise Interrupted()


class SignalInAnotherThread(unittest.TestCase):
    """A signal whose C handler ran in another thread, as one that lands
    just before the main thread blocks in a lock: CPython runs the Python
    handler once the main thread is back in Python. concurrent.futures'
    wait() and as_completed() on Tw futures, and a draining shutdown, get
    back there every slice."""

    def check(self, wait):
        previous = signal.signal(signal.SIGUSR1, interrupt)
        try:
            with Tw.Troupe(func=poll, n_workers=1) as troupe:
                future = troupe.submit(TIMEOUT)
                while not future.running():
                    time.sleep(0.005)
                # The timer's own thread takes the signal.
                timer = threading.Timer(
                    0.1, lambda: signal.pthread_kill(threading.get_ident(), signal.SIGUSR1))
                started = time.monotonic()
                timer.start()
                with self.assertRaises(Interrupted):
                    wait(troupe, future)
                self.assertLess(time.monotonic() - started, 5)
                timer.join()
                future.cancel()
        finally:
            signal.signal(signal.SIGUSR1, previous)

    def test_wait(self):
        self.check(lambda troupe, future: concurrent.futures.wait([future]))

    def test_as_completed(self):
        self.check(lambda troupe, future: list(concurrent.futures.as_completed([future])))

    def test_drain(self):
        self.check(lambda troupe, future: troupe.shutdown(wait=True))


if __name__ == '__main__' and sys.argv[1:2] == ['child']:
    child(*sys.argv[2:4])
else:
    taptest.main(__name__)
