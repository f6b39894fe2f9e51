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
``Troupe.submit()``, worker results and ``worker_kwargs`` take plain
Python values; ``Future.result()`` returns them. The mapping to GVariant
is lossless, so ``result()`` gives back a value equal to, and of the same
type as, what the worker returned:

=====================  ==================  ===============================
Python                 GVariant            back to Python
=====================  ==================  ===============================
``None``               ``mv`` (nothing)    ``None``
``bool``               ``b``               ``bool``
``int``                ``x``; ``t`` from   ``int``; other sizes are
                       2**63 to 2**64-1    OverflowError
``float``              ``d``               ``float``
``str``                ``s`` (no NUL)      ``str``
``bytes``,             ``ay``              ``bytes``
``bytearray``
``list``               ``av``              ``list``
``tuple``              ``(...)`` of the    ``tuple``
                       items' own types
``dict``               ``a{sv}`` (all      ``dict``
                       keys str), else
                       ``a{xv}``/``a{tv}``,
                       ``a{bv}``, ``a{dv}``
                       (keys all int, all
                       bool or all float)
``GLib.Variant``       itself, exactly     converted as below
=====================  ==================  ===============================

Other values (sets, objects, dicts with keys of mixed kinds) raise
TypeError: pass a ``GLib.Variant`` for them. Any GVariant converts back
by its type: integer types to ``int``, ``d`` to ``float``, ``s``/``o``/``g``
to ``str``, ``v`` to its content, maybes to ``None`` or their content,
``ay`` to ``bytes``, other arrays to ``list``, dictionaries to ``dict``
and tuples to ``tuple``. ``Future.result_variant()`` returns the GVariant
itself.

Errors
------
``Future.result()`` raises the worker's ``GLib.Error`` with its domain,
code and message. A Python exception other than ``GLib.Error`` raised in
a worker (function, ``work()``, ``do_call()`` or ``do_setup()``) becomes
a ``GLib.Error`` in the ``tw-python-error-quark`` domain, code 0, whose
message is ``"<type>: <message>\\n\\n<traceback>"``; ``result()`` raises it
as :class:`PythonError`, a ``GLib.Error`` with ``exception_type``,
``exception_message`` and ``traceback`` attributes. A timed-out
``result(timeout)`` raises :class:`FutureTimeoutError`, which is both a
``GLib.Error`` (``G_IO_ERROR_TIMED_OUT``) and a ``TimeoutError``; the
future stays usable. A cancelled task raises ``GLib.Error``
``G_IO_ERROR_CANCELLED``.

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

Composing
---------
``troupe.map(iterable)`` runs the worker on every item and returns the
plain values in input order, or raises the first error;
``troupe.map_future(iterable)`` returns the future of that list instead.
``troupe.map_unordered(iterable)`` returns an iterator of the plain
values in the order the tasks finish: a failed task raises its error
from ``next()``, and the iterator goes on with the next task after it.
``Tw.as_completed(futures)`` is the same for futures you have already,
as in ``concurrent.futures``: it yields the futures themselves. Both
take an overall ``timeout`` in seconds and raise
:class:`FutureTimeoutError` when it passes.

``future.then(callback)``, ``future.catch(callback)`` and
``future.finally_(callback)`` continue a future once it has succeeded,
failed (or been cancelled), or either, and return a new future at once.
The callback gets the settled future (``future.result()`` does not
block in it) and runs in the thread-default ``GLib.MainContext`` of the
thread that attached it, never on a worker thread. What it returns
decides the new future: a ``Tw.Future`` (for example another
``troupe.submit()``) gives its outcome, ``None`` passes the input's
outcome on unchanged, and any other value, converted as above, is the
new value (return ``Tw.to_variant(None)`` for a value of None). An
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

import base64
import functools
import importlib
import inspect
import itertools
import pickle
import sys
import threading
import time
import traceback

from .. import _gi
from ..module import get_introspection_module
from ..overrides import override
from gi.repository import GLib, GObject, Gio
from . import _tw_values as _values
from ._tw_values import RemoteTraceback

Tw = get_introspection_module('Tw')

__all__ = []

#: The GLib error domain of Python exceptions raised in workers.
PYTHON_ERROR_DOMAIN = _values.PYTHON_ERROR_DOMAIN
__all__ += ['PYTHON_ERROR_DOMAIN', 'RemoteTraceback']

_TRACEBACK_HEADER = _values.TRACEBACK_HEADER
_INT64_MIN = -(1 << 63)
_INT64_LIMIT = 1 << 63
_UINT64_LIMIT = 1 << 64


# Values ------------------------------------------------------------------

def _int_variant(value):
    if _INT64_MIN <= value < _INT64_LIMIT:
        return GLib.Variant.new_int64(value)
    if _INT64_LIMIT <= value < _UINT64_LIMIT:
        return GLib.Variant.new_uint64(value)
    raise OverflowError('int %d does not fit in 64 bits; pass a str or a GLib.Variant'
                        % value)


def _string_variant(value):
    if '\0' in value:
        raise ValueError('a str with a NUL character cannot be a GVariant string; '
                         'pass bytes instead')
    return GLib.Variant.new_string(value)


# Dictionary key kinds, in the order they are tested (bool before int).
_KEY_KINDS = (
    (str, 's', _string_variant),
    (bool, 'b', GLib.Variant.new_boolean),
    (int, None, None),                    # x or t, decided by the range
    (float, 'd', GLib.Variant.new_double),
)


def _dict_variant(value):
    kinds = set()
    for key in value:
        for kind, _, _ in _KEY_KINDS:
            if isinstance(key, kind):
                kinds.add(kind)
                break
        else:
            raise TypeError('cannot convert a dict with a %s key to a GVariant; '
                            'use str, int, bool or float keys, or pass a GLib.Variant'
                            % type(key).__name__)
    if len(kinds) > 1:
        raise TypeError('cannot convert a dict whose keys mix %s to a GVariant; '
                        'pass a GLib.Variant'
                        % ' and '.join(sorted(k.__name__ for k in kinds)))

    kind = kinds.pop() if kinds else str
    for k, key_type, make_key in _KEY_KINDS:
        if k is kind:
            break
    if kind is int:
        if all(_INT64_MIN <= key < _INT64_LIMIT for key in value):
            key_type, make_key = 'x', GLib.Variant.new_int64
        elif all(0 <= key < _UINT64_LIMIT for key in value):
            key_type, make_key = 't', GLib.Variant.new_uint64
        else:
            raise OverflowError('the int keys of a dict must all fit in int64 or '
                                'all in uint64')

    entries = [GLib.Variant.new_dict_entry(make_key(key),
                                           GLib.Variant.new_variant(to_variant(item)))
               for key, item in value.items()]
    return GLib.Variant.new_array(GLib.VariantType.new('{%sv}' % key_type), entries)


def to_variant(value):
    """Converts a plain Python value to a GVariant, as the module doc says.

    A ``GLib.Variant`` is returned as it is. Raises TypeError for a value
    that has no mapping, OverflowError for an int beyond 64 bits and
    ValueError for a str that holds a NUL character.
    """
    if isinstance(value, GLib.Variant):
        return value
    if value is None:
        return GLib.Variant.new_maybe(GLib.VariantType.new('v'), None)
    if isinstance(value, bool):
        return GLib.Variant.new_boolean(value)
    if isinstance(value, int):
        return _int_variant(value)
    if isinstance(value, float):
        return GLib.Variant.new_double(value)
    if isinstance(value, str):
        return _string_variant(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return GLib.Variant.new_from_bytes(GLib.VariantType.new('ay'),
                                           GLib.Bytes.new(bytes(value)), True)
    if isinstance(value, list):
        return GLib.Variant.new_array(GLib.VariantType.new('v'),
                                      [GLib.Variant.new_variant(to_variant(item))
                                       for item in value])
    if isinstance(value, tuple):
        return GLib.Variant.new_tuple(*[to_variant(item) for item in value])
    if isinstance(value, dict):
        return _dict_variant(value)
    raise TypeError('cannot convert %s to a GVariant; pass a GLib.Variant'
                    % type(value).__name__)


__all__.append('to_variant')


def from_variant(variant):
    """Converts a GVariant to a plain Python value, by its type.

    A frame of a Python-valued troupe (see the module doc) gives the
    Python value it carries.
    """
    type_string = _values.get_type_string(variant)
    if type_string == _values.FRAME_TYPE_STRING:
        tag, payload = _values.parse_frame(variant, type_string)
        if tag is not None:
            return _values.frame_value(tag, payload)
    kind = type_string[0]

    if kind == 'b':
        return variant.get_boolean()
    if kind in 'ynqiuxth':
        return variant.unpack()
    if kind == 'd':
        return variant.get_double()
    if kind in 'sog':
        return variant.get_string()
    if kind == 'v':
        return from_variant(variant.get_variant())
    if kind == 'm':
        child = variant.get_maybe()
        return None if child is None else from_variant(child)
    if type_string == 'ay':
        return variant.get_data_as_bytes().get_data()
    if kind == 'a' and type_string[1] == '{':
        result = {}
        for i in range(variant.n_children()):
            entry = variant.get_child_value(i)
            result[from_variant(entry.get_child_value(0))] = \
                from_variant(entry.get_child_value(1))
        return result
    if kind == 'a':
        return [from_variant(variant.get_child_value(i))
                for i in range(variant.n_children())]
    if kind == '(':
        return tuple(from_variant(variant.get_child_value(i))
                     for i in range(variant.n_children()))
    # Only handles ('h' is above) and dict entries on their own are left.
    return variant.unpack()


__all__.append('from_variant')


# Errors ------------------------------------------------------------------

class PythonError(GLib.Error):
    """A Python exception raised in a worker, as ``Future.result()`` raises it.

    It is a ``GLib.Error`` in the :data:`PYTHON_ERROR_DOMAIN` domain, code 0.
    ``exception_type`` is the exception's type name (with its module unless
    builtin or ``__main__``), ``exception_message`` its ``str()`` and
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


__all__ += ['PythonError', 'FutureTimeoutError']


_worker_process = []


def _in_worker_process():
    if not _worker_process:
        _worker_process.append(bool(Tw.is_worker_process()))
    return _worker_process[0]


def _error_from_exception(exc):
    """Turns any exception into a GLib.Error that can cross to the future."""
    return _values.error_from_exception(exc, _in_worker_process())


def _exception_for_error(error):
    """The exception that the caller sees for @error: the worker's own
    exception where it could travel, else the most specific class this
    module has for it."""
    if error.domain == PYTHON_ERROR_DOMAIN:
        text, exc = _values.split_error_message(error.message)
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


_current = threading.local()


def current_cancellable():
    """Returns the Gio.Cancellable of the task running in this thread.

    Long Python work can poll ``Tw.current_cancellable().is_cancelled()``.
    Returns None outside a task.
    """
    return getattr(_current, 'cancellable', None)


__all__.append('current_cancellable')


def _run_guarded(func, cancellable, *args):
    """Calls @func, turning any exception into a GLib.Error for C."""
    previous = getattr(_current, 'cancellable', None)
    _current.cancellable = cancellable
    try:
        return func(*args)
    except GLib.Error:
        raise
    except BaseException as exc:
        raise _error_from_exception(exc) from None
    finally:
        _current.cancellable = previous


# Workers -----------------------------------------------------------------

def _raw_result(worker, result):
    if result is None:
        raise TypeError('%s.do_call() returned None: return a GLib.Variant, or '
                        'implement work() to return plain values' % type(worker).__name__)
    return to_variant(result)


def _guard_do_call(do_call):
    def guarded(self, input, cancellable):
        return _run_guarded(lambda: _raw_result(self, do_call(self, input, cancellable)),
                            cancellable)
    guarded.__name__ = 'do_call'
    guarded.__wrapped__ = do_call
    return guarded


def _work_frame(worker, input):
    """Runs worker.work() on the value of @input, and frames its output the
    way the input came: by reference in thread mode, pickled otherwise."""
    tag, payload = _values.parse_frame(input)
    if tag is None:
        value, chunk = from_variant(input), False
        by_ref = not _in_worker_process()
    else:
        value = _values.frame_value(tag, payload)
        chunk = tag in (_values.CHUNK, _values.REF_CHUNK)
        by_ref = tag in (_values.REF, _values.REF_CHUNK)
    # A function troupe's worker calls the function itself.
    work = worker.__dict__.get('_func') or worker.work
    result = list(map(work, value)) if chunk else work(value)
    return _values.ref_frame(result) if by_ref else _values.pickle_frame(result)


def _do_call_from_work(self, input, cancellable):
    return _run_guarded(_work_frame, cancellable, self, input)


# Set while a worker's deferred __init__ runs, in that thread.
_deferred = threading.local()


def _has_gobject(obj):
    try:
        obj.__gpointer__
    except ValueError:
        return False
    return True


def _user_init(cls):
    """The __init__ of the most derived Python worker class defining one."""
    for klass in cls.__mro__:
        if '_tw_user_init' in vars(klass):
            return vars(klass)['_tw_user_init']
    return None


def _decode_kwargs(encoded):
    kind, _, data = (encoded or '').partition(':')
    if kind == 'pickle':
        return pickle.loads(base64.b64decode(data))
    if kind == 'ref':
        return _worker_kwargs[int(data)]
    return {}


def _construct(worker):
    """Runs the worker class's own __init__ with the plain worker_kwargs,
    once, in the worker's thread or process."""
    if worker.__dict__.get('_tw_constructed'):
        return
    worker._tw_constructed = True
    init = _user_init(type(worker))
    kwargs = _decode_kwargs(worker.tw_python_kwargs)
    if init is None:
        return
    _deferred.active = True
    try:
        init(worker, **kwargs)
    finally:
        _deferred.active = False


def _defer_init(user_init):
    """The __init__ of a worker class: the library creates workers without
    arguments, so the class's own __init__ waits for do_setup()."""
    @functools.wraps(user_init)
    def __init__(self, *args, **kwargs):
        if (not args and not kwargs and not getattr(_deferred, 'active', False)
                and _has_gobject(self)):
            return
        user_init(self, *args, **kwargs)
    return __init__


def _guard_do_setup(do_setup):
    def run(self, cancellable):
        _construct(self)
        return None if do_setup is None else do_setup(self, cancellable)

    def guarded(self, cancellable):
        ok = _run_guarded(run, cancellable, self, cancellable)
        return True if ok is None else ok
    guarded.__name__ = 'do_setup'
    guarded.__wrapped__ = do_setup
    return guarded


def _guard_do_teardown(do_teardown):
    def guarded(self):
        try:
            do_teardown(self)
        except Exception:
            # Nobody waits for a teardown: say what went wrong and go on.
            traceback.print_exc()
    guarded.__name__ = 'do_teardown'
    guarded.__wrapped__ = do_teardown
    return guarded


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

# Callables of this process, by the name that _PyFuncWorker.target holds.
_registry = {}
_registry_lock = threading.Lock()
_registry_serial = itertools.count(1)


def _qualified_name(func):
    module = getattr(func, '__module__', None)
    qualname = getattr(func, '__qualname__', None)
    if not module or not qualname:
        return None
    return '%s:%s' % (module, qualname)


def _resolve(target):
    """Finds the callable named "module:qualname", as pickle does."""
    module_name, _, qualname = target.partition(':')
    obj = importlib.import_module(module_name)
    for part in qualname.split('.'):
        obj = getattr(obj, part)
    return obj


def _importable(func):
    name = _qualified_name(func)
    if name is None or '<' in name:
        return None
    try:
        return name if _resolve(name) is func else None
    except Exception:
        return None


def _target_for(func):
    """The name a troupe gives _PyFuncWorker, and whether it crosses processes."""
    name = _importable(func)
    with _registry_lock:
        if name is not None and _registry.setdefault(name, func) is func:
            return name, True
        key = '%s#%d' % (_qualified_name(func) or repr(func), next(_registry_serial))
        _registry[key] = func
        return key, False


def _forget_target(key):
    with _registry_lock:
        _registry.pop(key, None)


def _process_mode_error(target):
    name = target.split('#', 1)[0]
    return ValueError('%s cannot run in process mode: a worker process finds a '
                      'function by module and qualified name, so it must be '
                      'defined at module level (not a lambda, nested function or '
                      'bound method) before Tw.init()' % name)


class _PyFuncWorker(Worker):
    # Not under gi.overrides, or PyGObject would not register a GType.
    __module__ = 'gi.repository.Tw._python'
    __gtype_name__ = 'TwPyFuncWorker'

    target = GObject.Property(type=str, flags=(GObject.ParamFlags.READWRITE |
                                               GObject.ParamFlags.CONSTRUCT_ONLY))

    def do_setup(self, cancellable):
        func = _registry.get(self.target)
        if func is None and '#' in self.target:
            raise _process_mode_error(self.target)
        if func is None:
            try:
                func = _resolve(self.target)
            except (ImportError, AttributeError) as exc:
                raise GLib.Error(
                    'The worker process found no function %s (%s): define it at '
                    'module level, before Tw.init()' % (self.target, exc),
                    GLib.quark_to_string(Tw.error_quark()), int(Tw.Error.UNKNOWN_FUNC)) from None
        self._func = func

    def work(self, value):
        return self._func(value)


# Troupes -----------------------------------------------------------------

def _property_variant(pspec, value):
    """Converts a worker_kwargs value for the property @pspec describes."""
    if isinstance(value, GLib.Variant):
        return value
    value_type = pspec.value_type if pspec is not None else None
    if value_type is None:
        return to_variant(value)
    if value_type == GObject.TYPE_VARIANT:
        return GLib.Variant.new_variant(to_variant(value))
    if value_type == GObject.TYPE_STRV:
        return GLib.Variant('as', list(value))
    if value_type.is_a(GObject.TYPE_ENUM) and hasattr(value, 'value_nick'):
        return GLib.Variant.new_string(value.value_nick)
    if value_type.is_a(GObject.TYPE_FLAGS) and isinstance(value, int):
        return GLib.Variant.new_uint32(int(value))
    return to_variant(value)


# Plain worker_kwargs of thread troupes, by key, while their troupe lives.
_worker_kwargs = {}
_worker_kwargs_keys = itertools.count(1)

# [Python values?, thread-only function target, mode once fixed by the
# first submit] of the troupes made by Troupe(), by hash() (their
# address), while they live.
_troupes = {}
_NOT_MADE_BY_TROUPE = (False, None, None)
_PROCESS = Tw.TroupeMode.PROCESS
_get_mode = Tw.Troupe.get_mode
_submit = Tw.Troupe.submit


def _forget_troupe(key, target, kwargs_key, troupes=_troupes, registry=_registry,
                   worker_kwargs=_worker_kwargs):
    # This may run while the interpreter exits, when the module's globals
    # are gone: it uses only its arguments.
    troupes.pop(key, None)
    # The workers held the function until the troupe was finalized.
    registry.pop(target, None)
    worker_kwargs.pop(kwargs_key, None)


def _check_init_kwargs(cls, plain):
    init = _user_init(cls) if cls is not None else None
    if init is None:
        if plain:
            raise TypeError('%s has no property %s and no __init__ that takes it'
                            % (getattr(cls, '__qualname__', cls), ', '.join(map(repr, plain))))
        return
    signature = inspect.signature(init)
    if not any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values()):
        for name in plain:
            if name not in signature.parameters:
                raise TypeError('%s.__init__() got an unexpected keyword argument %r '
                                '(from worker_kwargs)' % (cls.__qualname__, name))
    try:
        signature.bind(None, **plain)
    except TypeError as exc:
        raise TypeError('worker_kwargs do not fit %s.__init__(): %s'
                        % (cls.__qualname__, exc)) from None


def _worker_properties(worker_type, worker_kwargs, mode):
    """The a{sv} of @worker_type's construct properties, and the plain
    keyword arguments of a Python worker class's __init__ among them
    (None or a key of _worker_kwargs to forget with the troupe)."""
    cls = worker_type.pytype if isinstance(getattr(worker_type, 'pytype', None), type) else None
    if cls is not None and not issubclass(cls, Worker):
        cls = None
    pspecs = {pspec.name: pspec for pspec in GObject.list_properties(worker_type)}
    pspecs.pop('tw-python-kwargs', None)
    properties, plain = {}, {}
    for name, value in (worker_kwargs or {}).items():
        pspec = pspecs.get(name.replace('_', '-'))
        if pspec is not None:
            properties[pspec.name] = _property_variant(pspec, value)
        else:
            plain[name] = value
    _check_init_kwargs(cls, plain)

    key = None
    if plain and mode == Tw.TroupeMode.PROCESS:
        encoded = 'pickle:' + base64.b64encode(
            pickle.dumps(plain, pickle.HIGHEST_PROTOCOL)).decode('ascii')
        properties['tw-python-kwargs'] = GLib.Variant('s', encoded)
    elif plain:
        key = next(_worker_kwargs_keys)
        _worker_kwargs[key] = plain
        properties['tw-python-kwargs'] = GLib.Variant('s', 'ref:%d' % key)
    return (GLib.Variant('a{sv}', properties) if properties else None), key


def _mode_value(mode):
    if isinstance(mode, str):
        try:
            return {'thread': Tw.TroupeMode.THREAD,
                    'process': Tw.TroupeMode.PROCESS}[mode]
        except KeyError:
            raise ValueError("mode must be 'thread', 'process' or a Tw.TroupeMode, not %r"
                             % mode) from None
    return mode


def _to_process_input(variant):
    """A chained input for a Python worker process: a pickle frame."""
    tag, _ = _values.parse_frame(variant)
    if tag in (_values.PICKLE, _values.CHUNK):
        return variant
    return _values.pickle_frame(from_variant(variant))


def _to_plain_input(variant):
    """A chained input for a worker that takes GLib.Variant values."""
    if _values.FRAME_TYPE_STRING not in variant.get_type_string():
        return variant
    value = from_variant(variant)
    try:
        return to_variant(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError('a Python value is chained into a troupe whose worker takes '
                        'GLib.Variant values, and %s; make the Python worker return a '
                        'value that Tw.to_variant() converts, or a GLib.Variant' % exc) from None


# Converters of chained inputs that are still pending: a thread troupe
# each, made when first needed.
_converters = {}
_converters_lock = threading.Lock()


def _converter(convert):
    with _converters_lock:
        troupe = _converters.get(convert)
        if troupe is None:
            troupe = Troupe.new_for_func(lambda input, _cancellable: convert(input))
            troupe.props.n_workers = 1
            _converters[convert] = troupe
        return troupe


def _chunk_size(n_items, n_workers):
    # As multiprocessing.Pool.map: about four chunks per worker.
    chunksize, extra = divmod(n_items, max(1, n_workers) * 4)
    return max(1, chunksize + (1 if extra else 0))


def _chunk_results(futures, deadline):
    """Yields the output list of each chunk future, in order; cancels the
    rest when closed early, as Executor.map does."""
    futures.reverse()
    try:
        while futures:
            future = futures.pop()
            if deadline is None:
                yield future.result()
            else:
                yield future.result(max(0.0, deadline - time.monotonic()))
    finally:
        for future in futures:
            future.cancel()


class Troupe(Tw.Troupe):
    """A pool of workers. Use it as a context manager, which drains on exit.

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
        forget = kwargs_key = None
        python_values = False

        if func is not None:
            if not callable(func):
                raise TypeError('func must be callable, not %s' % type(func).__name__)
            target, crosses = _target_for(func)
            if not crosses:
                forget = target
                if mode == Tw.TroupeMode.PROCESS:
                    _forget_target(target)
                    raise _process_mode_error(target)
            properties['worker_type'] = _PyFuncWorker.__gtype__
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

        super().__init__(mode=mode, n_workers=n_workers, **properties)

        # Not attributes: those would tie the wrapper to the troupe, and
        # dropping it would then drain the troupe with the GIL held.
        key = hash(self)
        _troupes[key] = [python_values, forget, None]
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
            raise _process_mode_error(info[1])
        return mode

    def _submitted(self, future, mode):
        # The mode can no longer change: later submits need not ask.
        info = _troupes.get(hash(self))
        if info is not None:
            info[2] = mode
        return future

    def _encode(self, value, mode):
        if isinstance(value, GLib.Variant):
            return value
        if not _troupes.get(hash(self), _NOT_MADE_BY_TROUPE)[0]:
            return to_variant(value)
        if mode == _PROCESS:
            return _values.pickle_frame(value)
        return _values.ref_frame(value)

    def submit(self, value):
        """Queues a task on @value and returns its Tw.Future.

        @value is a Python value (pickled at once in process mode, so an
        unpicklable one raises the pickling error here) or a GLib.Variant
        (see the module doc), or a Tw.Future, whose value becomes the input
        once it succeeds (chaining; see submit_future()).
        """
        mode = self._check_submit()
        if isinstance(value, Tw.Future):
            return self._submitted(self._submit_chained(value, mode), mode)
        return self._submitted(_submit(self, self._encode(value, mode)), mode)

    def _submit_chained(self, future, mode):
        if not self._python_values():
            convert = _to_plain_input
        elif mode == Tw.TroupeMode.PROCESS:
            convert = _to_process_input
        else:
            return Tw.Troupe.submit_future(self, future)
        if future.get_state() == Tw.FutureState.SUCCEEDED:
            return Tw.Troupe.submit(self, convert(future.wait(0)))
        if future.is_done():
            return Tw.Troupe.submit_future(self, future)
        converted = Tw.Troupe.submit_future(_converter(convert), future)
        return Tw.Troupe.submit_future(self, converted)

    def submit_async(self, value, cancellable=None, callback=None, *user_data):
        """Queues a task on @value once there is room (see ``max_queued``).

        @callback(troupe, result, *user_data) runs in the thread-default
        main context once the task is queued; ``troupe.submit_finish(result)``
        returns its Tw.Future. @value is converted as for submit().
        """
        mode = self._check_submit()
        return Tw.Troupe.submit_async(self, self._encode(value, mode), cancellable,
                                      callback, *user_data)

    def _map_inputs(self, iterable, mode):
        if isinstance(iterable, GLib.Variant):
            return iterable
        if not self._python_values():
            return to_variant(list(iterable))
        return GLib.Variant.new_array(GLib.VariantType.new('v'), [
            GLib.Variant.new_variant(self._encode(item, mode)) for item in iterable])

    def map_future(self, iterable):
        """Runs the worker on every item of @iterable; returns one Tw.Future.

        Its ``result()`` is the list of the outputs, in input order; it
        fails with the first error. This is the C tw_troupe_map(): the
        items are converted one by one, so prefer map() for Python values.
        """
        mode = self._check_submit()
        return Tw.Troupe.map(self, self._map_inputs(iterable, mode))

    def _submit_chunks(self, iterable, chunksize):
        mode = self._check_submit()
        items = iterable if isinstance(iterable, (list, tuple, range)) else list(iterable)
        if chunksize is None:
            chunksize = _chunk_size(len(items), self.get_n_workers())
        elif chunksize < 1:
            raise ValueError('chunksize must be at least 1, not %r' % chunksize)
        if mode == Tw.TroupeMode.PROCESS:
            frame, tag = _values.pickle_frame, _values.CHUNK
        else:
            frame, tag = _values.ref_frame, _values.REF_CHUNK
        return [Tw.Troupe.submit(self, frame(items[i:i + chunksize], tag))
                for i in range(0, len(items), chunksize)]

    def map(self, iterable, *, chunksize=None, timeout=None):
        """Runs the worker on every item of @iterable, like Executor.map().

        Returns an iterator of the outputs in input order; it raises the
        exception of an item when it gets there, and FutureTimeoutError
        (a TimeoutError) once @timeout seconds from this call have passed.
        @iterable may be a generator: it is read at once. For a troupe of
        Python values the items travel in chunks of @chunksize, one frame
        each way per chunk (None picks about four chunks per worker, as
        multiprocessing.Pool.map does); a chunk fails as a whole.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._python_values():
            future = self.map_future(iterable)
            return iter(future.result(timeout))
        futures = self._submit_chunks(iterable, chunksize)
        return itertools.chain.from_iterable(_chunk_results(futures, deadline))

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
            mode = self._check_submit()
            done = Tw.Troupe.map_unordered(self, self._map_inputs(iterable, mode))
            return _SettledIterator(done, timeout, values=True)
        futures = self._submit_chunks(iterable, chunksize)
        return _ChunkIterator(_SettledIterator(Tw.AsCompleted.new(futures), timeout,
                                               values=True))

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, tb):
        self.shutdown(Tw.ShutdownMode.DRAIN)
        return False


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
    return Tw.Future.new_for_value(to_variant(value))


def _futures_list(futures):
    futures = list(futures)
    for future in futures:
        if not isinstance(future, Tw.Future):
            raise TypeError('expected Tw.Future items, not %s; wrap a value in '
                            'Tw.Future.new_for_value()' % type(future).__name__)
    return futures


_is_done = Tw.Future.is_done
_wait = Tw.Future.wait


class Future(Tw.Future):
    """The outcome of one task. ``result()`` waits for it."""

    @staticmethod
    def new_for_value(value):
        """Returns a future that has succeeded with @value, a plain value
        or a GLib.Variant."""
        return Tw.Future.new_for_value(to_variant(value))

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

    def _tw_wait(self, timeout):
        """Waits until the future has settled, or raises FutureTimeoutError."""
        if self.is_done():
            return
        context = _acquire_context_to_iterate()
        if context is not None:
            try:
                _wait_iterating(context, self.wait_async, self.wait_finish, timeout,
                                on_error=lambda error: None)
                return
            finally:
                context.release()
        try:
            self.wait(-1 if timeout is None else max(0, int(timeout * 1000000)))
        except GLib.Error as error:
            if not self.is_done():
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
        if outcome is not None:
            outcome.__suppress_context__ = True
            raise outcome
        try:
            variant = _wait(self, 0)
        except GLib.Error as error:
            exc = _exception_for_error(error)
            if exc is not error:
                self._tw_exception = exc
            exc.__suppress_context__ = True
            raise exc
        return from_variant(variant)

    def result(self, timeout=None):
        """Waits for the task and returns its value as a Python value.

        Raises the worker's exception (see _tw_unwrap()), or
        FutureTimeoutError when @timeout seconds pass first. While it
        waits, it runs the Python continuations (then(), catch(),
        finally_()) pending in this thread's main context, if no other
        thread runs that context.
        """
        if not _is_done(self):
            self._tw_wait(timeout)
        return self._tw_unwrap()

    def done(self):
        """Returns True once the task has settled."""
        return self.is_done()

    def cancelled(self):
        """Returns True if the task was cancelled."""
        return self.get_state() == Tw.FutureState.CANCELLED

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
        return Tw.Future.all(_futures_list(futures))

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

        usec = -1 if remaining is None else int(remaining * 1000000)
        try:
            return self.as_completed.next(usec)
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

    In a worker process it registers the worker types of the typelibs the
    script imported, serves tasks and then exits through ``sys.exit()``,
    so Python flushes its buffers and runs its exit handlers; anywhere
    else it returns at once.
    """
    if Tw.is_worker_process():
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
