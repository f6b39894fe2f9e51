# Tw.py: the PyGObject override of tiny-worker
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

"""Pythonic tiny-worker.

PyGObject loads this module on ``from gi.repository import Tw``. It keeps
the whole C API and adds::

    from gi.repository import Tw

    def square(x):
        return x * x

    Tw.init()                      # after functions and classes, before logic

    with Tw.Troupe(func=square, n_workers=4, mode=Tw.TroupeMode.PROCESS) as troupe:
        futures = [troupe.submit(i) for i in range(10)]
        print([f.result() for f in futures])

Values
------
A troupe whose worker is Python (``func=``, or a ``Tw.Worker`` subclass
with ``work()``) carries Python values as ``concurrent.futures`` does: by
reference in thread mode (``troupe.submit(obj).result() is obj``), pickled
in process mode, so anything picklable comes back with its type (an
``int`` of 64 bits or a ``float`` goes as a plain GVariant). An input
that cannot be pickled raises the pickling error at ``submit()``. Inside
the C library each value is a GVariant frame (see ``_tw_values.py``);
``Tw.from_variant()`` turns one from the raw API into its value. Workers
written in C take and give GVariants: values sent to them, and futures of
Python troupes chained into them, are converted by ``Tw.to_variant()``
(``None``, ``bool``, 64-bit ``int``, ``float``, ``str``, ``bytes``,
``list``, ``tuple``, ``dict``), or fail with a TypeError saying how; their
results come back by ``Tw.from_variant()``.

Errors
------
``result()`` raises the worker's own exception: the same object in thread
mode; in process mode a copy pickled by type, ``args`` and attributes,
whose ``__cause__`` is a :class:`RemoteTraceback` of the worker's
traceback. One that cannot be pickled comes as :class:`PythonError`. A
``GLib.Error`` from a worker arrives as itself; C code sees a Python
exception as a GError in the ``tw-python-error-quark`` domain, whose
message starts with ``"<module>.<type>: <message>\n\nTraceback ..."``.
A timed-out ``result(timeout)`` raises :class:`FutureTimeoutError`, both
a ``GLib.Error`` (``G_IO_ERROR_TIMED_OUT``) and a ``TimeoutError``; the
future stays usable. A cancelled task raises ``G_IO_ERROR_CANCELLED``.

Process mode
------------
A process troupe re-runs the script as each worker, and ``Tw.init()``
turns that run into a worker before the script's own logic. A function
crosses by module and qualified name, as pickle does: a lambda, a
nested function or a bound method cannot, and using one in process mode
raises ValueError at construction or submit time. A ``Tw.Worker``
subclass crosses by its GType name, so define it at module level before
``Tw.init()``; in a worker process, ``Tw.init()`` also registers the
worker types of the typelibs imported before it (C workers), as
``g_type_ensure()`` does in C.

Speed
-----
With the override's C extension ``_tw_speedups`` installed next to it
(meson builds it when the headers of Python and PyGObject are there), a
thread troupe of a function runs the function on a C worker whose
threads each keep one Python thread state from start to end (so
``threading.local()`` data lasts from task to task, as in a
``ThreadPoolExecutor``), and ``submit()`` and ``result()`` keep the GIL
unless they must block. ``TW_PYTHON_SPEEDUPS=0`` in the environment
turns it off.

Composing
---------
``troupe.map(iterable, chunksize=None, timeout=None)`` works like
``Executor.map()``: it returns an iterator of the outputs in input order
that raises an item's exception when it gets there. A Python troupe
sends the items in chunks, one frame each way per chunk (``None`` picks
about sixteen chunks per worker; ``multiprocessing.Pool.map`` makes four).
``troupe.map_unordered(iterable, chunksize=None)`` yields them as their
chunks finish; a failed chunk raises from ``next()`` and the iterator
goes on after it. ``Tw.as_completed(futures)`` is the same for futures
you have already, as in ``concurrent.futures``: it yields the futures
themselves. These take an overall ``timeout`` in seconds and raise
:class:`FutureTimeoutError` when it passes.

``future.then(callback)``, ``future.catch(callback)`` and
``future.finally_(callback)`` continue a future once it has succeeded,
failed (or been cancelled), or either, and return a new future at once.
The callback gets the settled future (``future.result()`` does not
block in it) and runs in the thread-default ``GLib.MainContext`` of the
thread that attached it, never on a worker thread. What it returns
decides the new future: a ``Tw.Future`` (for example another
``troupe.submit()``) gives its outcome, ``None`` passes the input's
outcome on unchanged, and any other value is the new value (as
``Future.new_for_value()`` holds it; return ``Tw.to_variant(None)`` for a
value of None). An
exception raised in the callback fails the new future, as it does in a
worker. An outcome that a callback is not for passes on unchanged:
``then()`` does not call its callback on a failure, nor ``catch()`` on
a success.

A continuation needs its main context to run. ``result()`` and the
iterators above therefore iterate the calling thread's thread-default
main context while they wait, if Python continuations are pending there
and no other thread runs it, so a script without a main loop can still
write ``troupe.submit(3).then(f).result()``.

``Tw.Future.all(futures)`` succeeds with a tuple of the values in input
order, or fails with the first error; ``Tw.Future.any(futures)`` with the
first value to succeed, failing only if all fail; ``Tw.Future.first(futures)``
settles like the first future to settle. None of them needs a main loop,
and submitting their future chains a task on them.

``future.progress`` and ``future.progress_message`` are what the worker
last reported with ``Tw.report_progress(fraction, message=None)``,
called from inside a worker function or ``work()`` in either mode;
connect to ``notify::progress`` to follow them from the future's main
context. With the ``max_queued`` property set, ``troupe.submit()`` blocks
while the queue is full, and ``troupe.submit_async(value, cancellable,
callback)`` calls back, in the main context, once there is room.
"""

import concurrent.futures
import functools
import itertools
import signal
import sys
import threading
import time

from .. import _gi
from ..module import get_introspection_module
from ..overrides import override
from . import _tw_fast, _tw_future
from gi.repository import GLib, GObject, Gio
from . import _tw_values as _values
from ._tw_values import RemoteTraceback, from_variant, to_variant
from ._tw_workers import (
    _do_call_from_work, _defer_init, _forget_target, _guard_do_call, _guard_do_setup,
    _guard_do_teardown, _has_gobject, _error_from_exception, _process_mode_error,
    _kwargs_process_mode_error, _registry,
    _run_guarded, _target_for, _worker_kwargs, _worker_process, _worker_properties,
    _converter, _find_func, _mode_value, current_cancellable)

Tw = get_introspection_module('Tw')

__all__ = []

#: The GLib error domain of Python exceptions raised in workers.
PYTHON_ERROR_DOMAIN = _values.PYTHON_ERROR_DOMAIN
__all__ += ['PYTHON_ERROR_DOMAIN', 'RemoteTraceback']

_TRACEBACK_HEADER = _values.TRACEBACK_HEADER

__all__ += ['to_variant', 'from_variant', 'current_cancellable']


# Errors ------------------------------------------------------------------

class PythonError(GLib.Error):
    """A Python exception raised in a worker, as ``Future.result()`` raises it.

    Only an exception that cannot be pickled (process mode) comes as one.
    It is a ``GLib.Error`` in the :data:`PYTHON_ERROR_DOMAIN` domain, code 0.
    ``exception_type`` is the exception's type name, with its module unless
    builtin (``__main__.MyError``), ``exception_message`` its ``str()`` and
    ``traceback`` the formatted traceback from the worker.
    """

    def __init__(self, message, domain=PYTHON_ERROR_DOMAIN, code=0):
        super().__init__(message, domain, code)
        head, _, rest = message.partition(_TRACEBACK_HEADER)
        self.exception_type, _, self.exception_message = head.partition(': ')
        self.traceback = _TRACEBACK_HEADER.lstrip('\n') + rest if rest else ''


class FutureTimeoutError(GLib.Error, TimeoutError):
    """``Future.result(timeout)`` ran out of time: ``G_IO_ERROR_TIMED_OUT``.

    The task goes on, and the future can be waited on again.
    """


FutureCancelledError = _tw_future.FutureCancelledError

__all__ += ['PythonError', 'FutureTimeoutError', 'FutureCancelledError']


def _exception_for_error(error, taker=None):
    """The exception that the caller sees for @error: the worker's own
    exception where it could travel, else the most specific class this
    module has for it. @taker is the future that keeps it, if any."""
    if error.domain == PYTHON_ERROR_DOMAIN:
        text, exc = _values.split_error_message(error.message, taker)
        if exc is not None:
            return exc
        return PythonError(text, error.domain, _values.ERROR_CODE_TEXT)
    if error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.TIMED_OUT):
        return FutureTimeoutError(error.message, error.domain, error.code)
    return error


def _raise_error(error):
    """Raises @error as _exception_for_error() says."""
    exc = _exception_for_error(error)
    exc.__suppress_context__ = True
    raise exc


class Worker(Tw.Worker):
    """Base class of workers with state; subclass it.

    Implement ``work(self, value)``, which takes and returns Python values
    (see the module doc), or the raw ``do_call(self, input, cancellable)``
    with GLib.Variant values. The class's ``__init__`` may take the
    ``worker_kwargs`` as plain keyword arguments; it runs once per worker,
    in the worker's thread or process, before its first call. So does
    ``do_setup(self, cancellable)`` after it (returning None means
    success); ``do_teardown(self)`` runs when the troupe shuts down. A
    ``worker_kwargs`` name that is a ``GObject.Property`` of the class sets
    that construct property instead. Exceptions raised in these methods
    fail the task, as the module doc says.
    """

    def __init__(self, **properties):
        if _has_gobject(self):
            # Created by the library, or a deferred __init__ chaining up.
            for name, value in properties.items():
                self.set_property(name, value)
            return
        super().__init__(**properties)

    def __init_subclass__(cls, **kwargs):
        # This runs before PyGObject hooks up the class's do_* methods and
        # properties, so the guarded versions are the ones C calls.
        super().__init_subclass__(**kwargs)
        namespace = cls.__dict__
        if 'do_call' in namespace:
            cls.do_call = _guard_do_call(namespace['do_call'])
        elif 'work' in namespace:
            cls.do_call = _do_call_from_work
            cls._tw_python_values = True
        if '__init__' in namespace:
            cls._tw_user_init = namespace['__init__']
            cls.__init__ = _defer_init(namespace['__init__'])
        if not hasattr(cls, 'tw_python_kwargs'):
            # The plain worker_kwargs, encoded by Troupe.
            cls.tw_python_kwargs = GObject.Property(
                type=str, default='', flags=(GObject.ParamFlags.READWRITE |
                                             GObject.ParamFlags.CONSTRUCT_ONLY))
        if 'do_setup' in namespace or not hasattr(cls, '_tw_setup'):
            cls._tw_setup = True
            cls.do_setup = _guard_do_setup(namespace.get('do_setup'))
        if 'do_teardown' in namespace:
            cls.do_teardown = _guard_do_teardown(namespace['do_teardown'])


Worker = override(Worker)
__all__.append('Worker')

class _PyFuncWorker(Worker):
    # Not under gi.overrides, or PyGObject would not register a GType.
    __module__ = 'gi.repository.Tw._python'
    __gtype_name__ = 'TwPyFuncWorker'

    target = GObject.Property(type=str, flags=(GObject.ParamFlags.READWRITE |
                                               GObject.ParamFlags.CONSTRUCT_ONLY))

    def do_setup(self, cancellable):
        self._tw_func = _find_func(self.target)

    def work(self, value):
        return self._tw_func(value)


# Troupes -----------------------------------------------------------------

# [Python values?, the error of a submit in process mode (a function or
# worker_kwargs that stay in this process) or None, mode once fixed by the
# first submit, runs on the C path of _tw_fast.py?] of the troupes made by
# Troupe(), by hash() (their address), while they live.
_troupes = {}
_NOT_MADE_BY_TROUPE = (False, None, None, False)
_PROCESS = Tw.TroupeMode.PROCESS
_get_mode = Tw.Troupe.get_mode
_submit = Tw.Troupe.submit
_NOT_PLAIN = (Tw.Future, GLib.Variant)


def _forget_troupe(key, target, kwargs_key, troupes=_troupes, registry=_registry,
                   worker_kwargs=_worker_kwargs):
    # This may run while the interpreter exits, when the module's globals
    # are gone: it uses only its arguments.
    troupes.pop(key, None)
    # The workers held the function until the troupe was finalized.
    registry.pop(target, None)
    worker_kwargs.pop(kwargs_key, None)


def _cancel_with(futures):
    """A done callback that cancels @futures if its future was cancelled,
    as cancelling a tw_troupe_map() future cancels its chunks."""
    def cancel_parts(future):
        if future.cancelled():
            for part in futures:
                Tw.Future.cancel(part)
    return cancel_parts


class Troupe(Tw.Troupe):
    """A pool of workers. Use it as a context manager, which drains on exit
    (or cancels, when the block raises).

    ``Tw.Troupe(func=f)`` runs a plain Python function ``f(value) ->
    value``; ``Tw.Troupe(worker=C, worker_kwargs={...})`` runs instances of
    the Tw.Worker subclass ``C`` (Python or C), made with those keyword
    arguments (see Worker). ``n_workers`` (0, the default, means one per
    processor) and ``mode`` (``Tw.TroupeMode`` or ``'thread'``/``'process'``)
    are the troupe's properties; other keyword arguments set other
    properties, e.g. ``cancel_grace_period``. A troupe whose worker is a
    Python function or a Worker with ``work()`` carries Python values
    (see the module doc).
    """

    def __init__(self, func=None, *, worker=None, worker_kwargs=None,
                 n_workers=0, mode=Tw.TroupeMode.THREAD, **properties):
        if (func is None) == (worker is None) and 'func_name' not in properties:
            raise TypeError('Tw.Troupe() takes either func= or worker=')
        mode = _mode_value(mode)
        forget = kwargs_key = fast_type = thread_only = None
        python_values = fast = False

        if func is not None:
            if not callable(func):
                raise TypeError('func must be callable, not %s' % type(func).__name__)
            target, crosses = _target_for(func)
            if not crosses:
                forget = target
                thread_only = functools.partial(_process_mode_error, target)
                if mode == Tw.TroupeMode.PROCESS:
                    _forget_target(target)
                    raise _process_mode_error(target)
            fast_type = _tw_fast.func_worker_type(mode)
            properties['worker_type'] = fast_type or _PyFuncWorker.__gtype__
            properties['worker_properties'] = GLib.Variant(
                'a{sv}', {'target': GLib.Variant('s', target)})
            python_values = True
        elif worker is not None:
            worker_type = worker if isinstance(worker, GObject.GType) else worker.__gtype__
            if not worker_type.is_a(Tw.Worker.__gtype__):
                raise TypeError('worker must be a Tw.Worker subclass, not %s' % worker_type.name)
            properties['worker_type'] = worker_type
            properties['worker_properties'], kwargs_key = _worker_properties(
                worker_type, worker_kwargs, mode)
            python_values = getattr(worker_type.pytype, '_tw_python_values', False)
            # The C submit() makes the frames of Python values.
            fast = _tw_fast.patch_worker_class(worker_type, mode) and python_values
            if kwargs_key is not None:
                thread_only = functools.partial(_kwargs_process_mode_error, worker_type)

        super().__init__(mode=mode, n_workers=n_workers, **properties)

        # Not attributes: those would tie the wrapper to the troupe, and
        # dropping it would then drain the troupe with the GIL held.
        key = hash(self)
        _troupes[key] = [python_values, thread_only, None, fast_type is not None or fast]
        self.weak_ref(_forget_troupe, key, forget, kwargs_key)

    def _python_values(self):
        return _troupes.get(hash(self), _NOT_MADE_BY_TROUPE)[0]

    @classmethod
    def new_for_func(cls, func, *user_data):
        """Like the C constructor, with exceptions turned into GLib.Error."""
        def guarded(input, cancellable, *data):
            return _run_guarded(func, cancellable, input, cancellable, *data)
        return Tw.Troupe.new_for_func(guarded, *user_data)

    def _check_submit(self):
        """The troupe's mode, once it is known that a task can be queued."""
        info = _troupes.get(hash(self), _NOT_MADE_BY_TROUPE)
        if info[2] is not None:
            return info[2]
        mode = _get_mode(self)
        if info[1] is not None and mode == _PROCESS:
            raise info[1]()
        return mode

    def _submitted(self, future, mode):
        # The mode can no longer change: later submits need not ask.
        info = _troupes.get(hash(self))
        if info is not None:
            if info[2] is None and info[3] and mode == Tw.TroupeMode.THREAD:
                _tw_fast.enable(self)
            info[2] = mode
        return future

    def _encode(self, value, mode):
        """The input GVariant for @value, and the key of its exception if
        it is passed by reference."""
        if isinstance(value, GLib.Variant):
            return value, None
        if not _troupes.get(hash(self), _NOT_MADE_BY_TROUPE)[0]:
            return to_variant(value), None
        if mode == _PROCESS:
            return _values.value_variant(value), None
        return _values.owned_ref_frame(value)

    def _encode_unowned(self, value, mode):
        # No future to own the exception: the first caller takes it.
        frame, key = self._encode(value, mode)
        if key is not None:
            _values.forget_raised(key)
        return frame

    def _submit_encoded(self, value, mode):
        frame, key = self._encode(value, mode)
        future = _submit(self, frame)
        if key is not None:
            _values.own_raised(key, future)
        return future

    def submit(self, value):
        """Queues a task on @value and returns its Tw.Future.

        @value is a Python value (pickled at once in process mode, so an
        unpicklable one raises the pickling error here) or a GLib.Variant
        (see the module doc), or a Tw.Future, whose value becomes the input
        once it succeeds (chaining; see submit_future()).
        """
        info = _troupes.get(hash(self), _NOT_MADE_BY_TROUPE)
        mode = info[2]
        if mode == _PROCESS and info[0] and not isinstance(value, _NOT_PLAIN):
            # The common case, in as few calls as possible.
            return _submit(self, _values.value_variant(value))
        mode = self._check_submit()
        if isinstance(value, Tw.Future):
            return self._submitted(self._submit_chained(value, mode), mode)
        return self._submitted(self._submit_encoded(value, mode), mode)

    def _submit_chained(self, future, mode):
        if not self._python_values():
            convert = _values.to_plain_input
        elif mode == Tw.TroupeMode.PROCESS:
            convert = _values.to_process_input
        else:
            return Tw.Troupe.submit_future(self, future)
        if future.is_done():
            # Settled for good: convert now, or let the chain fail alike.
            if future.get_state() == Tw.FutureState.SUCCEEDED:
                return Tw.Troupe.submit(self, convert(future.wait(0)))
            return Tw.Troupe.submit_future(self, future)
        converted = Tw.Troupe.submit_future(_converter(convert, Troupe.new_for_func), future)
        return Tw.Troupe.submit_future(self, converted)

    def submit_async(self, value, cancellable=None, callback=None, *user_data):
        """Queues a task on @value once there is room (see ``max_queued``).

        @callback(troupe, result, *user_data) runs in the thread-default
        main context once the task is queued; ``troupe.submit_finish(result)``
        returns its Tw.Future. @value is converted as for submit().
        """
        mode = self._check_submit()
        return Tw.Troupe.submit_async(self, self._encode_unowned(value, mode), cancellable,
                                      callback, *user_data)

    @staticmethod
    def _map_inputs(iterable):
        if isinstance(iterable, GLib.Variant):
            return iterable
        return to_variant(list(iterable))

    def map_future(self, iterable):
        """Runs the worker on every item of @iterable; returns one Tw.Future.

        Its ``result()`` is the list of the outputs, in input order; it
        fails with the first error. For a troupe of Python values the
        items travel in chunks as for map(), and a chunk fails as a whole;
        otherwise this is the C tw_troupe_map().
        """
        if not self._python_values() or isinstance(iterable, GLib.Variant):
            self._check_submit()
            return Tw.Troupe.map(self, self._map_inputs(iterable))
        # Not tw_troupe_map(): it copies the elements' bytes, and a value
        # passed by reference lives only as long as its own GVariant.
        chunks = self._submit_chunks(iterable, None)
        future = Tw.Troupe.submit_future(
            _converter(_values.join_chunks, Troupe.new_for_func), Tw.Future.all(chunks))
        # The chunks' futures hold their outputs, and their exceptions.
        # In the wrapper's dict, which the garbage collector sees through.
        future._tw_parts = chunks
        future.add_done_callback(_cancel_with(chunks))
        return future

    def _submit_chunks(self, iterable, chunksize):
        mode = self._check_submit()
        items = iterable if isinstance(iterable, (list, tuple, range)) else list(iterable)
        if chunksize is None:
            chunksize = _values.chunk_size(len(items), self.get_n_workers())
        elif chunksize < 1:
            raise ValueError('chunksize must be at least 1, not %r' % chunksize)
        futures = []
        for start in range(0, len(items), chunksize):
            chunk = items[start:start + chunksize]
            if mode == _PROCESS:
                futures.append(_submit(self, _values.pickle_frame(chunk, _values.CHUNK)))
                continue
            frame, key = _values.owned_ref_frame(chunk, _values.REF_CHUNK)
            futures.append(_submit(self, frame))
            _values.own_raised(key, futures[-1])
        _tw_future.track(self, *futures)
        return self._submitted(futures, mode)

    def map(self, iterable, *, chunksize=None, timeout=None):
        """Runs the worker on every item of @iterable, like Executor.map().

        Returns an iterator of the outputs in input order; it raises the
        exception of an item when it gets there, and FutureTimeoutError
        (a TimeoutError) once @timeout seconds from this call have passed.
        @iterable may be a generator: it is read at once. For a troupe of
        Python values the items travel in chunks of @chunksize, one frame
        each way per chunk (None picks about sixteen chunks per worker); a
        chunk fails as a whole.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._python_values():
            future = self.map_future(iterable)
            return iter(future.result(timeout))
        futures = self._submit_chunks(iterable, chunksize)
        return itertools.chain.from_iterable(_values.chunk_results(futures, deadline))

    def map_unordered(self, iterable, *, chunksize=None, timeout=None):
        """Runs the worker on every item of @iterable; yields the outputs
        in the order they finish.

        A failed task raises its error from ``next()``; the iterator goes
        on after it. @timeout, in seconds, bounds the whole iteration. For a
        troupe of Python values the items travel in chunks as for map()
        and come out a chunk at a time. The iterator's ``as_completed``
        attribute is the Tw.AsCompleted of the tasks' (or chunks') futures
        (a Gio.ListModel, for a list widget).
        """
        if not self._python_values():
            self._check_submit()
            done = Tw.Troupe.map_unordered(self, self._map_inputs(iterable))
            return _SettledIterator(done, timeout, values=True)
        futures = self._submit_chunks(iterable, chunksize)
        return _ChunkIterator(_SettledIterator(Tw.AsCompleted.new(futures), timeout,
                                               values=True))

    def shutdown(self, wait=True, *, cancel_futures=False):
        """Stops the troupe, as ``Executor.shutdown()`` does.

        Later submits fail. With @cancel_futures, the tasks that have not
        started are cancelled; the others run. With @wait, it returns once
        every task has settled and the workers have stopped; Ctrl-C while
        it waits cancels all tasks, running ones too, and raises
        KeyboardInterrupt. @wait may also be a Tw.ShutdownMode, as in C:
        ``shutdown(Tw.ShutdownMode.CANCEL_PENDING)``.
        """
        _tw_fast.disable(self)
        if isinstance(wait, Tw.ShutdownMode):
            mode, wait = wait, True
        elif cancel_futures:
            mode = Tw.ShutdownMode.CANCEL_PENDING
        else:
            mode = Tw.ShutdownMode.DRAIN
        _tw_future.shutdown(self, mode, wait)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, tb):
        """Drains the troupe, or, when the block raised, cancels its
        tasks (running ones too: a process-mode worker that does not stop
        within ``cancel_grace_period`` is killed) and waits for it."""
        if exc_type is None:
            self.shutdown(wait=True)
        else:
            _tw_fast.disable(self)
            _tw_future.abort(self)
        return False


Troupe.submit = _tw_future.tracking(Troupe.submit)
Troupe = override(Troupe)
__all__.append('Troupe')


# Main contexts that Python continuations wait to run in, with how many
# wait there: a blocking wait in a thread whose context nobody runs
# iterates it, or a continuation it depends on would never run.
_continuations = {}
_continuations_lock = threading.Lock()


def _continuation_attached(context):
    with _continuations_lock:
        _continuations[context] = _continuations.get(context, 0) + 1


def _continuation_ran(context):
    with _continuations_lock:
        left = _continuations.pop(context) - 1
        if left:
            _continuations[context] = left


def _acquire_context_to_iterate():
    """The thread-default main context, acquired, if a blocking wait must
    iterate it: Python continuations are pending there and no other
    thread runs it. Else None."""
    if not _continuations:
        return None
    context = GLib.MainContext.ref_thread_default()
    with _continuations_lock:
        if context not in _continuations:
            return None
    return context if context.acquire() else None


def _timed_out(timeout):
    return FutureTimeoutError('Nothing settled within %g s' % timeout,
                              GLib.quark_to_string(Gio.io_error_quark()),
                              int(Gio.IOErrorEnum.TIMED_OUT))


def _wait_iterating(context, start, finish, timeout, on_error=_raise_error):
    """Runs start(cancellable, callback), then iterates @context until the
    callback has run, and returns finish(result), or on_error(its error).
    After @timeout seconds the operation is cancelled and
    FutureTimeoutError raised."""
    results = []
    cancellable = Gio.Cancellable()
    timer = None
    expired = []

    def expire(*_args):
        expired.append(True)
        cancellable.cancel()
        return GLib.SOURCE_REMOVE

    start(cancellable, lambda _source, result, *_data: results.append(result))
    if timeout is not None:
        timer = GLib.timeout_source_new(max(0, int(timeout * 1000)))
        timer.set_callback(expire)
        timer.attach(context)
    try:
        while not results:
            context.iteration(True)
    finally:
        if timer is not None:
            timer.destroy()

    try:
        return finish(results[0])
    except GLib.Error as error:
        if expired and error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED):
            raise _timed_out(timeout) from None
        return on_error(error)


def _as_future(value):
    """What a continuation returned, as the future that the chain adopts."""
    if value is None or isinstance(value, Tw.Future):
        return value
    return Future.new_for_value(value)


def _futures_list(futures):
    futures = list(futures)
    for future in futures:
        if not isinstance(future, Tw.Future):
            raise TypeError('expected Tw.Future items, not %s; wrap a value in '
                            'Tw.Future.new_for_value()' % type(future).__name__)
    return futures


_wait = Tw.Future.wait


class Future(_tw_future.FutureMixin, Tw.Future, concurrent.futures.Future):
    """The outcome of one task. ``result()`` waits for it.

    It is a ``concurrent.futures.Future``: see _tw_future.py for
    ``result()``, ``exception()``, ``cancel()``, ``add_done_callback()``
    and the rest, which work with ``concurrent.futures.wait()``,
    ``as_completed()``, ``asyncio.wrap_future()`` and ``await``.
    """

    @staticmethod
    def new_for_value(value):
        """Returns a future that has succeeded with @value.

        A GLib.Variant, or a value that Tw.to_variant() converts, is that
        GVariant, as C code sees it; any other Python value is held by
        reference, as a thread troupe holds it.
        """
        try:
            variant = to_variant(value)
        except (TypeError, ValueError, OverflowError):
            variant = _values.ref_frame(value)
        return Tw.Future.new_for_value(variant)

    def result_variant(self, timeout=None):
        """Waits for the task and returns its GLib.Variant.

        @timeout is in seconds; None waits for ever. Raises as result() does.
        """
        context = None if self.is_done() else _acquire_context_to_iterate()
        if context is not None:
            try:
                return _wait_iterating(context, self.wait_async, self.wait_finish, timeout)
            finally:
                context.release()

        usec = -1 if timeout is None else max(0, int(timeout * 1000000))
        try:
            return self.wait(usec)
        except GLib.Error as error:
            _raise_error(error)

    def _tw_unwrap(self):
        """The Python value of this settled future, or raises its exception.

        The value is what the worker returned (see the module doc); the
        exception is the worker's own where it could travel (a pickled
        one has the worker's traceback as its ``__cause__``), else a
        PythonError, or the worker's GLib.Error. An exception that was
        passed by reference (thread mode) is kept on the future, so every
        call raises the same object.
        """
        outcome = self.__dict__.get('_tw_exception')
        try:
            if outcome is None:
                return from_variant(_wait(self, 0))
        except GLib.Error as error:
            outcome = _exception_for_error(error, self)
            if outcome is not error:
                self._tw_exception = outcome
        finally:
            # The exception's traceback holds this frame (see result()).
            self = None
        outcome.__suppress_context__ = True
        raise outcome

    @property
    def progress(self):
        """What the worker last reported with report_progress(), 0 to 1."""
        return self.get_progress()

    @property
    def progress_message(self):
        """The message the worker last reported with report_progress(), or None."""
        return self.dup_progress_message()

    def _continue(self, callback, user_data, on_success, on_failure):
        if not callable(callback):
            raise TypeError('callback must be callable, not %s' % type(callback).__name__)
        context = GLib.MainContext.ref_thread_default()

        # Attached for either outcome, so that it runs exactly once and the
        # count of pending continuations stays right; the outcome that the
        # caller did not ask for passes on from here.
        def continuation(future, *_data):
            _continuation_ran(context)
            succeeded = future.get_state() == Tw.FutureState.SUCCEEDED
            if not (on_success if succeeded else on_failure):
                return None
            try:
                return _as_future(callback(future, *user_data))
            except BaseException as exc:
                return Tw.Future.new_for_error(_error_from_exception(exc))

        _continuation_attached(context)
        try:
            return Tw.Future.finally_(self, continuation)
        except BaseException:
            _continuation_ran(context)
            raise

    def then(self, callback, *user_data):
        """Continues with callback(future, *user_data) once this succeeds.

        Returns a new Tw.Future at once. The callback runs in the calling
        thread's thread-default main context; see the module doc for what
        it may return. If this future fails, the new one fails alike and
        the callback is not called. This is the C tw_future_then().
        """
        return self._continue(callback, user_data, True, False)

    and_then = then

    def catch(self, callback, *user_data):
        """Continues with callback(future, *user_data) if this fails or is
        cancelled, to recover: like then(), for the other outcome."""
        return self._continue(callback, user_data, False, True)

    def finally_(self, callback, *user_data):
        """Continues with callback(future, *user_data) whatever the outcome:
        like then(), for both outcomes. Return None to pass it on."""
        return self._continue(callback, user_data, True, True)

    @staticmethod
    def all(futures):
        """A future for the tuple of the values of @futures, in order.

        It fails as soon as one fails, with its error; the others go on.
        """
        futures = _futures_list(futures)
        future = Tw.Future.all(futures)
        # The tuple holds the values' GVariants only until something
        # serialises it; values passed by reference live as long as those.
        future._tw_parts = futures
        return future

    @staticmethod
    def any(futures):
        """A future for the value of the first of @futures to succeed.

        It fails only when all have failed, with the first error.
        """
        return Tw.Future.any(_futures_list(futures))

    @staticmethod
    def first(futures):
        """A future that settles like the first of @futures to settle."""
        return Tw.Future.first(_futures_list(futures))


Troupe.submit, Future.result = _tw_fast.methods(Troupe, Troupe.submit, Future, Future.result,
                                                _continuations, _timed_out)
Future = override(Future)
__all__.append('Future')


class _SettledIterator:
    """Hands out the futures of a Tw.AsCompleted as they settle, or their
    plain values."""

    def __init__(self, as_completed, timeout, values):
        self.as_completed = as_completed
        self._timeout = timeout
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._values = values

    def __iter__(self):
        return self

    def _next_future(self):
        remaining = None
        if self._deadline is not None:
            remaining = max(0.0, self._deadline - time.monotonic())

        context = _acquire_context_to_iterate()
        if context is not None:
            try:
                return _wait_iterating(context, self.as_completed.next_async,
                                       self.as_completed.next_finish, remaining)
            finally:
                context.release()

        try:
            return _tw_future.as_completed_next(self.as_completed, remaining)
        except GLib.Error as error:
            if error.matches(Gio.io_error_quark(), Gio.IOErrorEnum.TIMED_OUT):
                raise _timed_out(self._timeout) from None
            _raise_error(error)

    def __next__(self):
        future = self._next_future()
        if future is None:
            raise StopIteration
        return future.result() if self._values else future


class _ChunkIterator:
    """The items of the chunk lists that a _SettledIterator hands out."""

    def __init__(self, chunks):
        self.as_completed = chunks.as_completed
        self._chunks = chunks
        self._items = iter(())

    def __iter__(self):
        return self

    def __next__(self):
        while True:
            for item in self._items:
                return item
            self._items = iter(next(self._chunks))


def as_completed(futures, timeout=None):
    """Returns an iterator of @futures in the order they settle.

    Like ``concurrent.futures.as_completed()``: each future comes out once,
    settled (succeeded, failed or cancelled), so ``result()`` does not
    block. @timeout, in seconds, bounds the whole iteration, after which
    ``next()`` raises FutureTimeoutError. The iterator's ``as_completed``
    attribute is the underlying Tw.AsCompleted.
    """
    return _SettledIterator(Tw.AsCompleted.new(_futures_list(futures)), timeout,
                            values=False)


def report_progress(fraction, message=None):
    """Reports the progress of the task that this worker is running.

    Call it from a worker function or ``work()``, in thread or process
    mode; the task's future shows it as ``progress`` and
    ``progress_message``. @fraction goes from 0 to 1. Elsewhere it does
    nothing.
    """
    Tw.report_progress(float(fraction), message)


__all__ += ['as_completed', 'report_progress']


def _ensure_worker_types():
    """Registers the worker types of every loaded typelib that uses Tw.

    A worker process finds its worker type by GType name, and a type
    written in C is registered only once something asks for it: this is
    what g_type_ensure() does in C, for each worker class a script could
    have imported.
    """
    repository = _gi.Repository.get_default()
    for namespace in repository.get_loaded_namespaces():
        if namespace != 'Tw' and 'Tw-1' not in repository.get_dependencies(namespace):
            continue
        for info in repository.get_infos(namespace):
            if isinstance(info, _gi.ObjectInfo) and not info.get_abstract():
                info.get_g_type()


def init():
    """Call once, after the script's functions and classes, before its logic.

    In a worker process it ignores SIGINT (the parent handles Ctrl-C),
    registers the worker types of the typelibs the script imported,
    serves tasks and then exits through ``sys.exit()``, so Python flushes
    its buffers and runs its exit handlers; anywhere else it returns at
    once.
    """
    if Tw.is_worker_process():
        # Ctrl-C in a terminal signals the whole process group: the
        # parent decides what happens to the tasks, so it must not kill
        # the workers.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _worker_process[:] = [True]
        _ensure_worker_types()
        sys.exit(Tw.process_main())
    Tw.init()


def register_func(name, func):
    """Like the C tw_register_func(), with exceptions turned into GLib.Error."""
    def guarded(input, cancellable, *data):
        return _run_guarded(func, cancellable, input, cancellable)
    Tw.register_func(name, guarded)


__all__ += ['init', 'register_func']
