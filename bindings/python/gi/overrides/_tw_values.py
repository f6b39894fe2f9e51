# _tw_values.py: how the Tw override carries Python values and exceptions
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

"""Frames: Python values inside GVariants, and Python exceptions inside GErrors.

The C library carries GVariant values and GError failures. A troupe whose
worker is written in Python wraps each value in a *frame*, a GVariant of
type ``(say)`` whose string is one of the tags below and whose bytes are
the payload:

``tw-python-pickle``
    ``pickle.dumps(value, pickle.HIGHEST_PROTOCOL)`` (process mode; an
    ``int`` that fits in 64 bits and a ``float`` travel as plain ``x`` and
    ``d`` GVariants instead, which they round-trip through exactly).
``tw-python-chunk``
    the pickled list of the inputs of one ``map()`` chunk; the worker
    answers with a ``tw-python-pickle`` frame of the list of outputs.
``tw-python-ref``
    8 bytes, a little-endian key of this process's table of objects
    (thread mode). The frame is made with ``g_variant_new_from_data()``
    whose destroy notify drops the table entry, so the object lives
    exactly as long as the GVariant that names it.
``tw-python-ref-chunk``
    the same for the list of inputs of one ``map()`` chunk.

Any other GVariant is a plain value, converted as ``Tw.to_variant()`` and
``Tw.from_variant()`` say.

A Python exception raised in a worker becomes a GError in the
``tw-python-error-quark`` domain whose message starts with the readable
``"<module>.<type>: <message>\\n\\nTraceback ...``" text. The code says
what follows that text:

0. nothing: the exception could not be pickled (``Tw.PythonError``);
1. ``"\\n\\ntw-python-pickle:"`` and the base64 of the pickled exception
   (process mode);
2. ``"\\n\\ntw-python-ref:"`` and the decimal key of the exception in this
   process's table of raised exceptions (thread mode), then, if it can be
   pickled, ``"\\n\\ntw-python-pickle:"`` and its base64 as above, which
   is used once the key is gone. A task's exception is kept under the key
   of its input frame for as long as the task's future lives; one raised
   elsewhere (a continuation, ``do_call()``) until a caller takes it.
"""

import base64
import io
import itertools
import pickle
import threading
import time
import traceback
import weakref

from gi.repository import GLib

FRAME_TYPE_STRING = '(say)'
_FRAME_TYPE = GLib.VariantType.new(FRAME_TYPE_STRING)

# Looked up once: a PyGObject method lookup costs as much as the call.
_new_from_bytes = GLib.Variant.new_from_bytes
_new_from_data = GLib.Variant.new_from_data
_new_bytes = GLib.Bytes.new
_get_data_as_bytes = GLib.Variant.get_data_as_bytes
_bytes_get_data = GLib.Bytes.get_data
get_type_string = GLib.Variant.get_type_string
_dumps = pickle.dumps
_new_int64 = GLib.Variant.new_int64
_new_double = GLib.Variant.new_double
_get_int64 = GLib.Variant.get_int64
_HIGHEST = pickle.HIGHEST_PROTOCOL

PICKLE = b'tw-python-pickle'
CHUNK = b'tw-python-chunk'
REF = b'tw-python-ref'
REF_CHUNK = b'tw-python-ref-chunk'
_TAGS = (PICKLE, CHUNK, REF, REF_CHUNK)

PYTHON_ERROR_DOMAIN = 'tw-python-error-quark'
ERROR_CODE_TEXT = 0
ERROR_CODE_PICKLED = 1
ERROR_CODE_REF = 2
TRACEBACK_HEADER = '\n\nTraceback (most recent call last):\n'
_PICKLE_MARK = '\n\ntw-python-pickle:'
_REF_MARK = '\n\ntw-python-ref:'

# Objects named by live tw-python-ref frames, and raised exceptions not
# yet taken by a caller; both by key.
_objects = {}
_raised = {}
_keys = itertools.count(1)
# The keys of exceptions that a future owns, with a weak reference to that
# future once known: they go when it does (see forget_raised()); the others
# go when a caller takes them.
_owned = {}
# Weak references to the futures that hold a taken owned exception as
# _tw_exception, by key. Once raised in a caller, an exception's traceback
# holds frames that may hold its owner: a strong reference here would keep
# the owner alive for ever, one from a future is garbage with it.
_taken = {}
# The key of the thread-mode task that this thread runs, for its exception.
_task = threading.local()
_KEY_BYTES = 8


def _offset_size(total):
    # GVariant framing offsets are as wide as the container's size needs.
    if total <= 0xff:
        return 1
    if total <= 0xffff:
        return 2
    if total <= 0xffffffff:
        return 4
    return 8


def _serialise(tag, payload):
    """The serialised (say) of (@tag, @payload): the string, its NUL, the
    bytes, then the end offset of the string."""
    body_size = len(tag) + 1 + len(payload)
    if body_size < 0xff:
        return b'%s\0%s%c' % (tag, payload, len(tag) + 1)
    size = 1
    while body_size + size > (1 << (8 * size)) - 1 and size < 8:
        size *= 2
    return b''.join((tag, b'\0', payload, (len(tag) + 1).to_bytes(size, 'little')))


def pickle_frame(value, tag=PICKLE):
    """A frame of the pickle of @value; raises what pickle raises."""
    return _new_from_bytes(_FRAME_TYPE, _new_bytes(_serialise(tag, _dumps(value, _HIGHEST))),
                           True)


def value_variant(value):
    """A process-mode value as a GVariant: an int that fits in 64 bits or a
    float as the plain 'x' or 'd' it round-trips through exactly (one call
    instead of a pickle frame's two); anything else as a pickle frame."""
    kind = type(value)
    if kind is int and -0x8000000000000000 <= value <= 0x7fffffffffffffff:
        return _new_int64(value)
    if kind is float:
        return _new_double(value)
    return pickle_frame(value)


def ref_frame(value, tag=REF):
    """A frame naming @value, which lives as long as the frame."""
    key = next(_keys)
    data = _serialise(tag, key.to_bytes(_KEY_BYTES, 'little'))
    _objects[key] = value

    # The closure keeps @data alive as long as the GVariant may read it,
    # and @objects, as the module's globals may be gone when it runs.
    def release(*_args, data=data, objects=_objects):
        objects.pop(key, None)

    return _new_from_data(_FRAME_TYPE, data, True, release)


def owned_ref_frame(value, tag=REF):
    """(ref_frame(@value), its key), for a task's input: an exception that
    the task raises is kept under that key until forget_raised()."""
    frame = ref_frame(value, tag)
    key = next(_keys) - 1
    _owned[key] = _dead
    return frame, key


def own_raised(key, future):
    """Makes @future, the task of the owned_ref_frame() of @key, the owner
    of the exception the task raises, until it is finalized."""
    _owned[key] = weakref.ref(future)
    if _forget_hook:
        _forget_hook[0](future, key)
    else:
        future.weak_ref(forget_raised, key)


# The C extension's own(), whose forget_raised() call runs with no exception
# set (see _tw_fast.py).
_forget_hook = []


def forget_raised(key, raised=_raised, owned=_owned, taken=_taken):
    # Called when the future that owns @key is finalized, maybe while the
    # interpreter exits: it uses only its arguments.
    owned.pop(key, None)
    raised.pop(key, None)
    taken.pop(key, None)


def set_task_key(payload):
    """Notes the key of a thread-mode task's input frame, or None."""
    _task.key = None if payload is None else int.from_bytes(payload, 'little')


def parse_frame(variant, type_string=None):
    """(tag, payload) of a frame, or (None, None) for a plain GVariant.
    @type_string is the variant's, if the caller has it already."""
    if (type_string or get_type_string(variant)) != FRAME_TYPE_STRING:
        return None, None
    data = _bytes_get_data(_get_data_as_bytes(variant))
    size = len(data)
    if size <= 0xff:
        # Most tasks: small enough to slice, with a one-byte offset.
        end, start = size - 1, data[-1]
    else:
        end = size - _offset_size(size)
        start = int.from_bytes(data[end:], 'little')
        data = memoryview(data)
    if not 0 < start <= end:
        return None, None
    tag = bytes(data[:start - 1])
    if tag not in _TAGS:
        return None, None
    return tag, data[start:end]


class CrossingError(TypeError):
    """A thread-mode value was asked for in another process."""


def resolve_ref(payload):
    key = int.from_bytes(payload, 'little')
    try:
        return _objects[key]
    except KeyError:
        raise CrossingError(
            'a value passed by reference (thread mode) reached a worker process, or '
            'outlived its GVariant; submit it to a process troupe directly, or chain '
            'the future itself with troupe.submit(future)') from None


def frame_value(tag, payload):
    """The Python value of a parsed frame."""
    if tag in (PICKLE, CHUNK):
        return pickle.loads(payload)
    return resolve_ref(payload)


# Exceptions ---------------------------------------------------------------

class RemoteTraceback(Exception):
    """The formatted traceback of an exception raised in a worker process.

    It is the ``__cause__`` of the exception that ``result()`` raises, as
    in ``concurrent.futures``.
    """

    def __init__(self, tb):
        super().__init__(tb)
        self.tb = tb

    def __str__(self):
        return self.tb


def _rebuild_exception(cls, args, state):
    exc = cls.__new__(cls, *args)
    exc.args = args
    if state:
        exc.__dict__.update(state)
    return exc


class _ExceptionPickler(pickle.Pickler):
    """Pickles exceptions by type, args and attributes, without calling
    their __init__ again: a subclass whose __init__ takes other arguments
    than it passes to its base still round-trips."""

    def reducer_override(self, obj):
        cls = type(obj)
        if (isinstance(obj, BaseException)
                and cls.__reduce__ is BaseException.__reduce__):
            return _rebuild_exception, (cls, obj.args, obj.__dict__ or None)
        return NotImplemented



def _pickle_exception(exc):
    buffer = io.BytesIO()
    _ExceptionPickler(buffer, pickle.HIGHEST_PROTOCOL).dump(exc)
    return base64.b64encode(buffer.getvalue()).decode('ascii')


def type_name(cls):
    """The module-qualified name of @cls (bare for builtins)."""
    if cls.__module__ == 'builtins':
        return cls.__qualname__
    return '%s.%s' % (cls.__module__, cls.__qualname__)


_OWN_FILES = ('/_tw_workers.py', '/_tw_values.py')


def exception_text(exc):
    """``"<module>.<type>: <message>\\n\\nTraceback ..."`` of @exc."""
    message = str(exc)
    summary = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    # The override's own frames say nothing to the user.
    summary.stack = traceback.StackSummary.from_list(
        [frame for frame in summary.stack if not frame.filename.endswith(_OWN_FILES)])
    tb = ''.join(summary.format())
    tb = tb.partition(TRACEBACK_HEADER.lstrip('\n'))[2] or tb
    return '%s: %s%s%s' % (type_name(type(exc)), message, TRACEBACK_HEADER, tb)


def error_from_exception(exc, in_worker_process):
    """A GLib.Error that carries @exc to the caller (see the module doc)."""
    if isinstance(exc, GLib.Error):
        return exc
    text = exception_text(exc)
    try:
        pickled = _PICKLE_MARK + _pickle_exception(exc)
    except Exception:
        pickled = ''
    if not in_worker_process:
        key = getattr(_task, 'key', None)
        _task.key = None
        if key is None:
            key = next(_keys)
        _raised[key] = exc
        return GLib.Error('%s%s%d%s' % (text, _REF_MARK, key, pickled),
                          PYTHON_ERROR_DOMAIN, ERROR_CODE_REF)
    if pickled:
        return GLib.Error(text + pickled, PYTHON_ERROR_DOMAIN, ERROR_CODE_PICKLED)
    return GLib.Error(text, PYTHON_ERROR_DOMAIN, ERROR_CODE_TEXT)


def _dead():
    return None


def _take_raised(key, taker):
    """The exception raised under @key, for the future @taker (or None).

    The first caller takes one that no future owns. An owned one, once
    taken, is kept by its owner (if its wrapper lives) and by each future
    that took it, as _tw_exception; the table only finds it there."""
    if key not in _owned:
        return _raised.pop(key, None)
    holders = _taken.setdefault(key, [])
    exc = _raised.get(key)
    if exc is None:
        for holder in holders:
            exc = holder().__dict__.get('_tw_exception') if holder() is not None else None
            if exc is not None:
                break
    if exc is None or taker is None and not holders:
        return exc
    for future in (_owned[key](), taker):
        if future is not None and '_tw_exception' not in future.__dict__:
            future._tw_exception = exc
            holders.append(weakref.ref(future))
    _raised.pop(key, None)
    return exc


def split_error_message(message, taker=None):
    """(readable text, exception or None) of a Python-domain GError message.

    A pickled exception gets the worker's traceback as a RemoteTraceback
    ``__cause__``; one taken by key is the very object the worker raised.
    @taker is the future that will keep the exception as _tw_exception.
    """
    text, _, pickled = message.partition(_PICKLE_MARK)
    text, _, key = text.partition(_REF_MARK)
    if key:
        exc = _take_raised(int(key), taker)
        if exc is not None:
            return text, exc
    if pickled:
        try:
            exc = pickle.loads(base64.b64decode(pickled))
        except Exception:
            return text, None
        tb = text.partition(TRACEBACK_HEADER)[2]
        if tb:
            exc.__cause__ = RemoteTraceback('\n"""\nTraceback (most recent call last):\n%s"""'
                                            % tb)
        return text, exc
    return text, None


# Plain values --------------------------------------------------------------

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


def from_variant(variant):
    """Converts a GVariant to a plain Python value, by its type.

    A frame of a Python-valued troupe (see the module doc) gives the
    Python value it carries.
    """
    type_string = get_type_string(variant)
    if type_string == FRAME_TYPE_STRING:
        tag, payload = parse_frame(variant, type_string)
        if tag is not None:
            return frame_value(tag, payload)
    kind = type_string[0]

    if type_string == 'x':
        return _get_int64(variant)
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


# Chaining and map() ----------------------------------------------------------

def to_process_input(variant):
    """A chained input for a Python worker process: as it is, unless it
    holds values by reference (thread mode), which are pickled."""
    type_string = get_type_string(variant)
    if FRAME_TYPE_STRING not in type_string:
        return variant
    tag, _ = parse_frame(variant, type_string)
    if tag in (PICKLE, CHUNK):
        return variant
    return pickle_frame(from_variant(variant))


def to_plain_input(variant):
    """A chained input for a worker that takes GLib.Variant values."""
    if FRAME_TYPE_STRING not in get_type_string(variant):
        return variant
    value = from_variant(variant)
    try:
        return to_variant(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError('a Python value is chained into a troupe whose worker takes '
                        'GLib.Variant values, and %s; make the Python worker return a '
                        'value that Tw.to_variant() converts, or a GLib.Variant' % exc) from None


CHUNKS_PER_WORKER = 16


def chunk_size(n_items, n_workers):
    # Pool.map makes four chunks per worker. More, smaller ones cost little
    # (a frame each way) and let the caller unpickle one chunk's outputs
    # while the workers compute the next, and a worker that the system
    # holds back delays less at the end.
    chunksize, extra = divmod(n_items, max(1, n_workers) * CHUNKS_PER_WORKER)
    return max(1, chunksize + (1 if extra else 0))


def join_chunks(outputs):
    """A frame of the list of the items of the chunk output lists in the
    tuple @outputs, by reference: it runs in this process."""
    return ref_frame(list(itertools.chain.from_iterable(from_variant(outputs))))


def chunk_results(futures, deadline):
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
