# _tw_workers.py: the worker side of the Tw override
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

"""What runs in a worker: guarded calls, frames in and out, worker classes
whose __init__ takes the worker_kwargs, and functions found by name.

A Python worker class gets a ``tw-python-kwargs`` construct property: the
worker_kwargs that are not properties of the class, as
``"pickle:<base64 of the pickled dict>"`` (process mode) or
``"ref:<key>"`` of a dict in this process (thread mode), which its
__init__ receives in the worker, before do_setup().
"""

import base64
import functools
import importlib
import inspect
import itertools
import pickle
import threading
import traceback

from gi.repository import GLib, GObject
from ..module import get_introspection_module
from . import _tw_values as _values
from ._tw_values import from_variant, to_variant

Tw = get_introspection_module('Tw')


_worker_process = []


def _in_worker_process():
    if not _worker_process:
        _worker_process.append(bool(Tw.is_worker_process()))
    return _worker_process[0]


def _error_from_exception(exc):
    """Turns any exception into a GLib.Error that can cross to the future."""
    return _values.error_from_exception(exc, _in_worker_process())


_current = threading.local()


def current_cancellable():
    """Returns the Gio.Cancellable of the task running in this thread.

    Long Python work can poll ``Tw.current_cancellable().is_cancelled()``.
    Returns None outside a task.
    """
    cancellable = getattr(_current, 'cancellable', None)
    if cancellable is None and _native_cancellable:
        cancellable = _native_cancellable[0]()
    return cancellable


# current_cancellable() of the C worker of _tw_fast.py, when it is built.
_native_cancellable = []


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
        _values.set_task_key(None)


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
    guarded._tw_guard = True
    return guarded


def _work_frame(worker, input):
    """Runs worker.work() on the value of @input, as work_frame() does."""
    # A function troupe's worker calls the function itself.
    return work_frame(worker.__dict__.get('_tw_func') or worker.work, input)


def work_frame(work, input):
    """Runs work() on the value of @input, and frames its output the way
    the input came: by reference in thread mode, pickled otherwise."""
    tag, payload = _values.parse_frame(input)
    if tag == _PICKLE:
        return _value_variant(work(_loads(payload)))
    if tag is None:
        value, chunk = from_variant(input), False
        by_ref = not _in_worker_process()
    else:
        by_ref = tag in (_values.REF, _values.REF_CHUNK)
        if by_ref:
            _values.set_task_key(payload)
        value = _values.frame_value(tag, payload)
        chunk = tag in (_values.CHUNK, _values.REF_CHUNK)
    result = list(map(work, value)) if chunk else work(value)
    if by_ref:
        return _values.ref_frame(result)
    return _pickle_frame(result) if chunk else _value_variant(result)


_PICKLE = _values.PICKLE
_pickle_frame = _values.pickle_frame
_value_variant = _values.value_variant
_loads = pickle.loads


def _do_call_from_work(self, input, cancellable):
    # _run_guarded(), inlined: this runs once per task.
    previous = getattr(_current, 'cancellable', None)
    _current.cancellable = cancellable
    try:
        return _work_frame(self, input)
    except GLib.Error:
        raise
    except BaseException as exc:
        raise _error_from_exception(exc) from None
    finally:
        _current.cancellable = previous
        _values.set_task_key(None)


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


def _find_func(target):
    """The callable that a troupe named @target: registered in this
    process, or found by module and qualified name in a worker process."""
    func = _registry.get(target)
    if func is None and '#' in target:
        raise _process_mode_error(target)
    if func is None:
        try:
            func = _resolve(target)
        except (ImportError, AttributeError) as exc:
            raise GLib.Error(
                'The worker process found no function %s (%s): define it at '
                'module level, before Tw.init()' % (target, exc),
                GLib.quark_to_string(Tw.error_quark()), int(Tw.Error.UNKNOWN_FUNC)) from None
    return func


def _process_mode_error(target):
    name = target.split('#', 1)[0]
    return ValueError('%s cannot run in process mode: a worker process finds a '
                      'function by module and qualified name, so it must be '
                      'defined at module level (not a lambda, nested function or '
                      'bound method) before Tw.init()' % name)


def _kwargs_process_mode_error(worker_type):
    return ValueError('%s cannot run in process mode with these worker_kwargs: a troupe made '
                      'in thread mode keeps them by reference; pass mode="process" to '
                      'Tw.Troupe() to pickle them for worker processes' % worker_type.name)


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


def _check_init_kwargs(worker_type, cls, plain):
    init = _user_init(cls) if cls is not None else None
    if init is None:
        if plain:
            raise TypeError('worker_kwargs: %s has no property %s, and no __init__ that '
                            'takes keyword arguments' % (worker_type.name,
                                                         ', '.join(map(repr, plain))))
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
    if cls is not None and not issubclass(cls, Tw.Worker):
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
    _check_init_kwargs(worker_type, cls, plain)

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


# Converters of chained inputs that are still pending: a thread troupe
# each, made when first needed.
_converters = {}
_converters_lock = threading.Lock()


def _converter(convert, new_for_func):
    """The thread troupe that runs convert(input), made with new_for_func."""
    with _converters_lock:
        troupe = _converters.get(convert)
        if troupe is None:
            troupe = new_for_func(lambda input, _cancellable: convert(input))
            troupe.props.n_workers = 1
            _converters[convert] = troupe
        return troupe
