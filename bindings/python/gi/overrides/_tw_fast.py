# _tw_fast.py: the thread-mode fast path of the Tw override
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

"""The glue of the optional C extension _tw_speedups (see _tw_speedups.c).

With it, ``Tw.Troupe(func=f)`` in thread mode runs ``f`` on a C worker
that keeps one Python thread state per worker thread, and its
``submit()`` and every future's ``result()`` call the library without
dropping the GIL, unless they must block. Values and exceptions travel
as the pure-Python override carries them (_tw_values.py), so both paths
mix freely. Without the extension (not built, or ``TW_PYTHON_SPEEDUPS=0``
in the environment), the functions here return what they were given and
the override is pure Python.
"""

import gc
import os

from gi.repository import GLib, GObject
from ..module import get_introspection_module
from . import _tw_future
from . import _tw_values as _values
from . import _tw_workers as _workers

try:
    if os.environ.get('TW_PYTHON_SPEEDUPS', '1') == '0':
        raise ImportError('TW_PYTHON_SPEEDUPS=0')
    from . import _tw_speedups as _c
except ImportError:
    _c = None

Tw = get_introspection_module('Tw')


def _variant(type_string, data):
    return GLib.Variant.new_from_bytes(GLib.VariantType.new(type_string),
                                       GLib.Bytes.new(data), False)


def _setup(target):
    """The callable of a C worker, and whether it runs in a worker process."""
    return _workers._find_func(target), _workers._in_worker_process()


def _input_value(type_string, data):
    """A task input that is not a tw-python-ref frame: (value, is a chunk)."""
    variant = _variant(type_string, data)
    tag, payload = _values.parse_frame(variant, type_string)
    if tag is None:
        return _values.from_variant(variant), False
    return (_values.frame_value(tag, payload),
            tag in (_values.CHUNK, _values.REF_CHUNK))


def _process_call(func, type_string, data):
    """A task of a troupe switched to process mode, in a worker process."""
    output = _workers.work_frame(func, _variant(type_string, data))
    return output.get_type_string(), output.get_data_as_bytes().get_data()


def _task_failed(key, exc, owned):
    """The (domain, code, message) of the GError for @exc, which the task
    of the input frame @key (0: none) raised; if @owned, the future of
    that task keeps it until it goes (see _values.own_raised())."""
    if owned:
        _values._owned.setdefault(key, _values._dead)
    if key:
        _values._task.key = key
    try:
        error = _workers._error_from_exception(exc)
    finally:
        _values.set_task_key(None)
    return error.domain, error.code, error.message


if _c is not None:
    _c.configure(_values._objects, _setup, _input_value, _process_call,
                 _task_failed, _values.forget_raised, GLib.Variant,
                 _workers._in_worker_process)
    # Pruned in C, which asks each future without dropping the GIL.
    _tw_future.set_pruner(_c.prune)
    _tw_future._native_pending.append(_c.pending_futures)
    _workers._native_cancellable.append(_c.current_cancellable)
    _values._forget_hook.append(_c.own)
    # PyGObject often drops a wrapper's last reference without the GIL, so the
    # keys of futures and values dropped by the caller wait for the next
    # call here; a collection, which a caller uses to see them go, too.
    gc.callbacks.append(_c.drain)


# The troupes whose submit() is the C one, by hash(), from their first
# submit in thread mode until they shut down; it tracks their futures for
# pending_futures().
_fast_troupes = {}


def func_worker_type(mode):
    """The GType of the C worker of a function troupe in @mode, or None."""
    if _c is None or mode != Tw.TroupeMode.THREAD:
        return None
    return GObject.type_from_name(_c.WORKER_TYPE)


def patch_worker_class(worker_type, mode):
    """Whether a troupe in @mode of the Tw.Worker subclass @worker_type runs
    its tasks on the C path (see _tw_speedups-classes.c), which this gives
    the class if it is a Python one with work() or a raw do_call()."""
    if _c is None or mode != Tw.TroupeMode.THREAD or worker_type.pytype is None:
        return False
    do_call = getattr(worker_type.pytype, 'do_call', None)
    if do_call is _workers._do_call_from_work:
        return _c.patch_worker_class(worker_type, False)
    if getattr(do_call, '_tw_guard', False):
        return _c.patch_worker_class(worker_type, True)
    return False


def enable(troupe):
    """Makes the C submit() @troupe's, now that it runs in thread mode."""
    key = hash(troupe)
    if key not in _fast_troupes:
        _fast_troupes[key] = True
        troupe.weak_ref(_forget, key)


def disable(troupe):
    """Back to the Python submit(), which knows about shutting down."""
    _fast_troupes.pop(hash(troupe), None)


def _forget(key, troupes=_fast_troupes):
    # Bound early: this may run while the interpreter clears the module.
    troupes.pop(key, None)


def methods(troupe_class, submit, future_class, result, continuations, timed_out):
    """Troupe.submit() and Future.result(): the C ones when built, which
    fall back on @submit and @result, else these.

    The C submit() takes a value for a troupe enabled here; the C
    result() waits in C and takes a frame's value or a plain int or float
    there, but not while Python continuations wait for a thread's main
    context (@continuations is not empty), as result() may have to run
    it. @timed_out(timeout) is the exception of a wait that ran out of
    time.
    """
    if _c is None:
        return submit, result
    return _c.install(_fast_troupes, troupe_class, submit, continuations, future_class, result,
                      timed_out)
