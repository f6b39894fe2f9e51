# _tw_future.py: Tw.Future as a concurrent.futures.Future, and Ctrl-C
#
# Copyright 2026 The tiny-worker developers
#
# This library is free software; you can redistribute it and/or modify it
# under the terms of the GNU Lesser General Public License as published by
# the Free Software Foundation; either version 2.1 of the License, or (at
# your option) any later version.
#
# This library is distributed in the hope that it will be useful, but
# WITHOUT ANY WARRANTY; without even the implied warranty of
# MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE. See the GNU Lesser
# General Public License for more details.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

"""The waiting and state half of the Tw.Future override (see Tw.py).

A Tw.Future is a ``concurrent.futures.Future``: ``wait()``,
``as_completed()`` and ``asyncio.wrap_future()`` read the private state
that CPython's futures keep (``_condition``, ``_state``, ``_waiters``).
Here that state is made on first use and driven by the TwFuture settling:
a watcher thread iterates a private main context in which the futures'
``wait_async()`` calls complete. Only futures that something watches (a
done callback, ``wait()``, ``as_completed()``, asyncio) pay for it;
``result()`` blocks in C.

Blocking waits in the main thread return to Python at least every
``_SLICE`` seconds, so that Ctrl-C raises KeyboardInterrupt promptly; so
do ``concurrent.futures.wait()`` and ``as_completed()`` on Tw futures. They
call tw_future_wait() through ctypes with no GError: when PyGObject turns
a GError into an exception it runs Python code, and a signal handler that
raises in there makes it fail with "Converting the GError failed".
"""

import concurrent.futures
import ctypes
import os
import signal
import sys
import threading
import time
import weakref
from concurrent.futures import _base

from gi.repository import GLib, Gio
from ..module import get_introspection_module

Tw = get_introspection_module('Tw')

# The longest a Python signal handler waits while the main thread blocks.
_SLICE = 0.05
_SETTLED = (Tw.FutureState.SUCCEEDED, Tw.FutureState.FAILED, Tw.FutureState.CANCELLED)
_DONE = (_base.CANCELLED_AND_NOTIFIED, _base.FINISHED)


class FutureCancelledError(GLib.Error, concurrent.futures.CancelledError):
    """``result()`` or ``exception()`` of a cancelled future.

    It is both a ``concurrent.futures.CancelledError`` and a ``GLib.Error``
    ``G_IO_ERROR_CANCELLED`` with the task's message.
    """


def _load_wait():
    """tw_future_wait() and g_variant_unref() through ctypes, or None."""
    try:
        process = ctypes.CDLL(None)
        wait = process.tw_future_wait
        unref = process.g_variant_unref
        capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    except (AttributeError, OSError):
        return None
    wait.restype = ctypes.c_void_p
    wait.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p]
    unref.restype = None
    unref.argtypes = [ctypes.c_void_p]
    capsule_pointer.restype = ctypes.c_void_p
    capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return wait, unref, capsule_pointer


_c_wait = _load_wait()


def call_deferring_sigint(func, *args):
    """Calls @func, a blocking C call through PyGObject, so that a SIGINT
    during it raises KeyboardInterrupt after it returns, not inside
    PyGObject's conversion of its GError."""
    if threading.current_thread() is not threading.main_thread():
        return func(*args)
    handler = signal.getsignal(signal.SIGINT)
    if not callable(handler):
        return func(*args)
    caught = []
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        return func(*args)
    finally:
        signal.signal(signal.SIGINT, handler)
        if caught:
            try:
                handler(signal.SIGINT, None)
            except BaseException as exc:
                # Not "during handling of" a timed-out wait.
                raise exc from None


def _wait_once(future, usec):
    """Blocks in C for at most @usec µs (-1: no limit); True if settled."""
    if _c_wait is None:
        try:
            call_deferring_sigint(future.wait, usec)
        except GLib.Error:
            pass
        return future.is_done()
    wait, unref, capsule_pointer = _c_wait
    value = wait(capsule_pointer(future.__gpointer__, None), usec, None)
    if value:
        unref(value)
        return True
    return future.is_done()


def _slices(timeout):
    """The waits, in µs (-1: no limit), that make up a wait of @timeout
    seconds (None: no limit), each with whether it is the last one: in the
    main thread none is longer than _SLICE, so signal handlers run."""
    main = threading.current_thread() is threading.main_thread()
    # Past a million years (and for inf), no limit, as _tw_speedups.c says.
    deadline = None if timeout is None or timeout >= 3.2e13 else time.monotonic() + timeout
    limit = int(_SLICE * 1000000)
    while True:
        usec = -1
        if deadline is not None:
            usec = max(0, int((deadline - time.monotonic()) * 1000000))
        last = not main or 0 <= usec <= limit
        yield (usec if last else limit), last
        if last:
            return


def wait_settled(future, timeout=None):
    """Blocks until @future settles or @timeout seconds pass.

    Returns True if it has settled. In the main thread the wait returns to
    Python every _SLICE seconds, so signal handlers (Ctrl-C) run in time.
    """
    if future.is_done():
        return True
    return any(_wait_once(future, usec) for usec, _ in _slices(timeout))


def as_completed_next(as_completed, timeout):
    """tw_as_completed_next() for @timeout seconds (None: no limit), in
    slices in the main thread as wait_settled() does. Raises GLib.Error
    G_IO_ERROR_TIMED_OUT once @timeout has passed."""
    for usec, last in _slices(timeout):
        try:
            return call_deferring_sigint(as_completed.next, usec)
        except GLib.Error as error:
            if last or not error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.TIMED_OUT):
                raise


def _wait_iterating(future, context, timeout):
    """wait_settled() for a thread that must run @context (acquired)
    meanwhile, for the Python continuations pending there."""
    settled = []
    future.wait_async(None, lambda *_args: settled.append(True))
    # Wakes the iteration up so that signals and the deadline are seen.
    ticker = GLib.timeout_source_new(int(_SLICE * 1000))
    ticker.set_callback(lambda *_args: GLib.SOURCE_CONTINUE)
    ticker.attach(context)
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while not settled:
            if deadline is not None and time.monotonic() >= deadline:
                return future.is_done()
            context.iteration(True)
    finally:
        ticker.destroy()
    return True


class _Watcher:
    """Tells the Python state of watched futures when they settle.

    One daemon thread runs a private main context; futures to watch are
    queued, and a single idle source there starts their async waits, whose
    callbacks settle the Python state, in that thread.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._queue = []            # futures to watch, protected by _lock
        self._context = None        # created with the thread, under _lock

    def _run(self, context, ready):
        context.push_thread_default()
        loop = GLib.MainLoop.new(context, False)
        ready.set()
        loop.run()

    def _start_locked(self):
        ready = threading.Event()
        self._context = GLib.MainContext.new()
        threading.Thread(target=self._run, args=(self._context, ready),
                         name='tw-future-watcher', daemon=True).start()
        ready.wait()

    def watch(self, future):
        with self._lock:
            if self._context is None:
                self._start_locked()
            self._queue.append(future)
            schedule = len(self._queue) == 1
        if schedule:
            source = GLib.idle_source_new()
            source.set_callback(self._start_waits)
            source.attach(self._context)

    def _start_waits(self, *_args):
        with self._lock:
            futures, self._queue = self._queue, []
        for future in futures:
            Tw.Future.wait_async(future, None, _settled_cb, future)
        return GLib.SOURCE_REMOVE

    def forget_after_fork(self):
        # The thread did not survive the fork.
        self._lock = threading.Lock()
        self._queue = []
        self._context = None


def _settled_cb(_source, _result, future):
    future._tw_settle_cf()


_watcher = _Watcher()
os.register_at_fork(after_in_child=_watcher.forget_after_fork)
_state_lock = threading.Lock()


def _slice_event_wait(event):
    """Makes @event's wait() return to Python every _SLICE seconds.

    CPython runs a signal handler that lands just before a thread blocks
    in a lock only once the lock is released: a Ctrl-C that comes as
    concurrent.futures.wait() or as_completed() starts to block in its
    waiter's threading.Event would wait for the next task to settle."""
    if 'wait' in vars(event):
        return
    wait = event.wait
    event.wait = lambda timeout=None: any(
        wait(None if usec < 0 else usec / 1000000) for usec, _ in _slices(timeout))


class _Waiters(list):
    """A future's concurrent.futures waiters, whose events wait in slices
    in the main thread (see _slice_event_wait())."""

    def append(self, waiter):
        event = getattr(waiter, 'event', None)
        if isinstance(event, threading.Event):
            _slice_event_wait(event)
        super().append(waiter)


class _CfState:
    """What concurrent.futures keeps in a Future, made on first use."""

    __slots__ = ('condition', 'state', 'waiters', 'callbacks')

    def __init__(self):
        self.condition = threading.Condition()
        self.state = _base.PENDING      # only ever set to a done state here
        self.waiters = _Waiters()
        self.callbacks = []


def _run_callback(callback, future):
    try:
        callback(future)
    except Exception:
        _base.LOGGER.exception('exception calling callback for %r', future)


def _unwrapped_exception(future):
    """The exception that @future's _tw_unwrap() raises, or None."""
    try:
        future._tw_unwrap()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        return exc
    finally:
        future = None   # as in FutureMixin.result()
    return None


class FutureMixin:
    """The concurrent.futures.Future API of Tw.Future.

    Tw.py's Future derives from this, Tw.Future and
    concurrent.futures.Future, in that order, and defines _tw_unwrap(),
    which returns a settled future's value or raises its exception.
    """

    def _tw_cf(self):
        state = self.__dict__.get('_tw_cf_state')
        if state is not None:
            return state
        with _state_lock:
            state = self.__dict__.get('_tw_cf_state')
            if state is not None:
                return state
            # Stored in the instance dict, which makes PyGObject keep this
            # wrapper for as long as the TwFuture lives.
            state = self.__dict__['_tw_cf_state'] = _CfState()
        if self.is_done():
            self._tw_settle_cf()
        else:
            _watcher.watch(self)
        return state

    def _tw_settle_cf(self):
        """Moves the Python state to done, once; runs the done callbacks."""
        state = self._tw_cf()
        outcome = self.get_state()
        with state.condition:
            if state.state in _DONE:
                return
            if outcome == Tw.FutureState.CANCELLED:
                state.state = _base.CANCELLED_AND_NOTIFIED
                for waiter in state.waiters:
                    waiter.add_cancelled(self)
            else:
                state.state = _base.FINISHED
                for waiter in state.waiters:
                    if outcome == Tw.FutureState.FAILED:
                        waiter.add_exception(self)
                    else:
                        waiter.add_result(self)
            state.condition.notify_all()
            callbacks, state.callbacks = state.callbacks, []
        for callback in callbacks:
            _run_callback(callback, self)

    # What concurrent.futures.wait() and as_completed() read.
    @property
    def _condition(self):
        return self._tw_cf().condition

    @property
    def _waiters(self):
        return self._tw_cf().waiters

    @property
    def _state(self):
        state = self._tw_cf().state
        if state in _DONE:
            return state
        if self.get_state() == Tw.FutureState.RUNNING:
            return _base.RUNNING
        return _base.PENDING

    def _tw_wait(self, timeout):
        """Waits, as the module doc says; raises FutureTimeoutError."""
        state = self.get_state()
        if state not in _SETTLED:
            self._tw_block(timeout)
            state = self.get_state()
        if state == Tw.FutureState.CANCELLED:
            try:
                Tw.Future.wait(self, 0)
            except GLib.Error as error:
                raise FutureCancelledError(error.message, error.domain, error.code) from None

    def _tw_block(self, timeout):
        override = sys.modules['gi.overrides.Tw']
        context = None
        if override._continuations:
            context = override._acquire_context_to_iterate()
        if context is not None:
            try:
                settled = _wait_iterating(self, context, timeout)
            finally:
                context.release()
        else:
            settled = wait_settled(self, timeout)
        if not settled:
            raise override._timed_out(timeout)

    def result(self, timeout=None):
        """Waits for the task and returns its value.

        @timeout is in seconds; None waits for ever. Raises what the
        worker raised, FutureCancelledError if the task was cancelled and
        FutureTimeoutError (a TimeoutError) when @timeout passes first;
        the task goes on then. Ctrl-C interrupts the wait. While it
        waits, it runs the Python continuations (then(), catch(),
        finally_()) pending in this thread's main context, if no other
        thread runs that context.
        """
        try:
            self._tw_wait(timeout)
            return self._tw_unwrap()
        finally:
            # The exception's traceback holds this frame: as in
            # concurrent.futures, it must not keep the future alive.
            self = None

    def exception(self, timeout=None):
        """Waits like result(); returns the exception that result() would
        raise, or None if the task succeeded."""
        self._tw_wait(timeout)
        if self.get_state() == Tw.FutureState.SUCCEEDED:
            return None
        return _unwrapped_exception(self)

    def done(self):
        """Returns True once the task has settled: succeeded, failed or
        been cancelled."""
        return self.is_done()

    def running(self):
        """Returns True while a worker runs the task."""
        return self.get_state() == Tw.FutureState.RUNNING

    def cancelled(self):
        """Returns True if the task was cancelled."""
        return self.get_state() == Tw.FutureState.CANCELLED

    def cancel(self):
        """Cancels the task; returns True if it is cancelled now.

        A task that has not started is cancelled at once. A running task
        is asked to stop through its cancellable (in process mode its
        worker is killed after ``cancel_grace_period``), and cancel()
        returns False, as concurrent.futures does, unless it has already
        ended cancelled. A settled task does not change.
        """
        Tw.Future.cancel(self)
        if self.get_state() != Tw.FutureState.CANCELLED:
            return False
        if '_tw_cf_state' in self.__dict__:
            self._tw_settle_cf()
        return True

    def add_done_callback(self, fn):
        """Calls fn(future) once the task has settled.

        No main loop is needed: fn runs in a thread of the module's own,
        or at once in this thread if the future has settled. Exceptions
        that fn raises are logged and ignored, as in concurrent.futures.
        Keep fn short: while it runs, that thread tells no other future's
        waiters, so concurrent.futures.wait() on another future there
        would wait for ever.
        """
        state = self._tw_cf()
        if self.is_done():
            self._tw_settle_cf()
        with state.condition:
            if state.state not in _DONE:
                state.callbacks.append(fn)
                return
        _run_callback(fn, self)

    def __await__(self):
        if not self.is_done():
            import asyncio

            yield from asyncio.wrap_future(self).__await__()
        return self.result()

    def set_running_or_notify_cancel(self):
        raise RuntimeError('a Tw.Future is settled by its troupe')

    def set_result(self, result):
        raise RuntimeError('a Tw.Future is settled by its troupe')

    def set_exception(self, exception):
        raise RuntimeError('a Tw.Future is settled by its troupe')


# Troupes ------------------------------------------------------------------

# The futures that each troupe's submit() returned, by the troupe's
# address, until it is finalized. Not in the troupe's instance dict: with
# one, PyGObject drops the wrapper's reference holding the GIL, and the
# draining dispose would deadlock with a Python worker.
_submitted = {}
_submitted_lock = threading.Lock()


# Troupes whose shutdown(wait=False) runs in another thread, by address:
# their submits fail at once, as they will in C.
_closing = set()


def _forget_troupe(key, submitted=_submitted, closing=_closing):
    # Bound early: this may run while the interpreter clears the module.
    submitted.pop(key, None)
    closing.discard(key)


def _submitted_list(troupe):
    """The list of @troupe's futures, after a count of those live when it
    was last pruned; made on first use."""
    key = hash(troupe)
    if key not in _submitted:
        _submitted[key] = [0]
        troupe.weak_ref(_forget_troupe, key)
    return _submitted[key]


def _shut_down_future():
    return Tw.Future.new_for_error(GLib.Error('The troupe has been shut down',
                                              GLib.quark_to_string(Tw.error_quark()),
                                              int(Tw.Error.SHUT_DOWN)))


def track(troupe, *futures):
    """Remembers @futures, tasks of @troupe, so that leaving a with block
    by an exception cancels them; for futures made without submit()."""
    submitted = _submitted.get(hash(troupe)) or _submitted_list(troupe)
    # Weakly: a future the caller dropped must free its value at once, as
    # a concurrent.futures one does.
    with _submitted_lock:
        submitted.extend(weakref.ref(f) for f in futures)
        # Drop settled and dead ones now and then: at most twice what is live.
        if len(submitted) > 2 * submitted[0] + 64:
            _prune_locked(submitted)


def _prune_locked(submitted):
    """Drops the settled and dead futures of a list of _submitted."""
    if _pruner:
        _pruner[0](submitted)
        return
    submitted[1:] = [r for r in submitted[1:] if _pending(r) is not None]
    submitted[0] = len(submitted) - 1


# _tw_fast.py's C pruner, which the C submit() calls too.
_pruner = []


def set_pruner(pruner):
    _pruner[:] = [pruner]


# _tw_fast.py's pending_futures(troupe), for the futures of the C submit(),
# which tracks them itself.
_native_pending = []


def _pending(ref):
    future = ref()
    return future if future is not None and not future.is_done() else None


def tracking(submit):
    """Wraps a Troupe submit method to track() the futures it returns."""
    def tracked(self, *args, **kwargs):
        if hash(self) in _closing:
            return _shut_down_future()
        future = submit(self, *args, **kwargs)
        track(self, future)
        return future
    tracked.__name__ = submit.__name__
    tracked.__doc__ = submit.__doc__
    tracked.__wrapped__ = submit
    return tracked


def _shutdown_in_thread(troupe, mode):
    thread = threading.Thread(target=Tw.Troupe.shutdown, args=(troupe, mode),
                              name='tw-troupe-shutdown')
    thread.start()
    return thread


def shutdown(troupe, mode, wait):
    """Shuts @troupe down; in the main thread, Ctrl-C interrupts a wait,
    cancelling everything as abort() does."""
    if not wait:
        _submitted_list(troupe)   # to forget it with the troupe
        _closing.add(hash(troupe))
        _shutdown_in_thread(troupe, mode)
        return
    if threading.current_thread() is not threading.main_thread():
        Tw.Troupe.shutdown(troupe, mode)
        return
    thread = _shutdown_in_thread(troupe, mode)
    try:
        # In slices, for the reason _slice_event_wait() gives.
        while thread.is_alive():
            thread.join(_SLICE)
    except BaseException:
        abort(troupe)
        raise


def abort(troupe):
    """Cancels every task of @troupe, running ones too, and waits for it
    to stop: a process-mode worker that does not stop within the grace
    period is killed."""
    thread = _shutdown_in_thread(troupe, Tw.ShutdownMode.CANCEL_PENDING)
    # Cancelling a running task frees its worker: only once the shutdown
    # has taken the queue, or the worker would start the next task.
    deadline = time.monotonic() + 1
    while troupe.get_n_queued() > 0 and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.001)
    with _submitted_lock:
        refs = _submitted.get(hash(troupe), [0])[1:]
    futures = list(filter(None, map(_pending, refs)))
    for pending_futures in _native_pending:
        futures.extend(pending_futures(troupe))
    for future in futures:
        Tw.Future.cancel(future)
    thread.join()
