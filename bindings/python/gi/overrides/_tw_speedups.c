/* _tw_speedups.c: the thread-mode fast path of the Tw override
 *
 * Copyright 2026 The tiny-worker developers
 *
 * This library is free software; you can redistribute it and/or modify it
 * under the terms of the GNU Lesser General Public License as published by
 * the Free Software Foundation; either version 2.1 of the License, or (at
 * your option) any later version.
 *
 * This library is distributed in the hope that it will be useful, but
 * WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE. See the GNU Lesser
 * General Public License for more details.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* A thread troupe of a Python callable spends its time in the GIL, not in
 * the library: through PyGObject every submit, state read and wait drops
 * the GIL (handing it to a worker and back), and every task enters Python
 * through a vfunc closure with a new thread state, a boxed GLib.Variant
 * and a GCancellable wrapper. This module keeps those calls in C:
 *
 * - submit() and result() call the library directly with the GIL held
 *   (result() drops it only to block), and carry values by reference in
 *   the override's tw-python-ref frames (see _tw_values.py);
 * - TwPyCallWorker, a C TwWorker, runs the callable on a thread state that
 *   each worker thread makes in setup and keeps until teardown.
 *
 * A frame names its object by a key of the override's object table. The
 * GVariant may be freed in a thread without the GIL: its key then waits on
 * a lock-free list until a thread holding the GIL drops it (drain()), as
 * do the keys of futures whose exception the override may keep.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pygobject.h>
#include <tiny-worker.h>

#include <string.h>

/* The override's objects, set once by configure() and kept for good. */
static PyObject *objects_table;   /* _tw_values._objects: key -> value */
static PyObject *setup_hook;      /* (target) -> (callable, in a worker process) */
static PyObject *input_hook;      /* (type string, bytes) -> (value, is chunk) */
static PyObject *process_hook;    /* (callable, type string, bytes) -> (type string, bytes) */
static PyObject *error_hook;      /* (key, exception, owned) -> (domain, code, message) */
static PyObject *forget_hook;     /* (key) -> None, once a failed task's future is gone */
static PyObject *variant_class;   /* GLib.Variant, which submit() leaves to Python */
static PyObject *failed_keys;     /* keys passed to error_hook, until forgotten */

#define REF_TAG "tw-python-ref"
#define REF_CHUNK_TAG "tw-python-ref-chunk"
#define KEY_BYTES 8
/* Keys made here, apart from those that _tw_values.py counts from 1; the
 * inputs of submit() also have TASK_KEY, as their futures forget them. */
#define KEY_BASE (G_GUINT64_CONSTANT (1) << 62)
#define TASK_KEY (G_GUINT64_CONSTANT (1) << 61)
#define IS_TASK_KEY(key) (((key) & (KEY_BASE | TASK_KEY)) == (KEY_BASE | TASK_KEY))

static guint64 key_serial;   /* under the GIL */

/* A key to drop once a thread holds the GIL. */
typedef struct _TwPyPending TwPyPending;
struct _TwPyPending
{
  TwPyPending *next;
  guint64      key;
  gboolean     is_task;   /* a future's key (forget_hook), else an object's */
};

/* A tw-python-ref frame: the serialised (say) and the key it names. */
typedef struct
{
  TwPyPending pending;
  guint8      data[sizeof REF_TAG + KEY_BYTES + 1];
} TwPyFrame;

static TwPyPending *pending_head;   /* atomic: a stack of TwPyPending */

static GQuark task_quark;

/* Frames ----------------------------------------------------------------- */

static void
drop_key (TwPyPending *pending)
{
  PyObject *key = PyLong_FromUnsignedLongLong (pending->key);

  if (key == NULL)
    {
      PyErr_WriteUnraisable (NULL);
      return;
    }
  if (!pending->is_task)
    {
      if (PyDict_DelItem (objects_table, key) < 0)
        PyErr_Clear ();
    }
  else if (PySet_Discard (failed_keys, key) == 1)
    {
      PyObject *done = PyObject_CallOneArg (forget_hook, key);

      if (done == NULL)
        PyErr_WriteUnraisable (forget_hook);
      Py_XDECREF (done);
    }
  Py_DECREF (key);
}

/* Drops the keys of the GVariants and futures freed without the GIL.
 * Called with the GIL held. */
static void
drain_pending (void)
{
  TwPyPending *pending;

  if (g_atomic_pointer_get (&pending_head) == NULL)
    return;

  pending = g_atomic_pointer_exchange (&pending_head, NULL);
  while (pending != NULL)
    {
      TwPyPending *next = pending->next;

      drop_key (pending);
      g_free (pending);
      pending = next;
    }
}

/* Drops @pending's key now if this thread holds the GIL, else later: a
 * GVariant or a future may be freed in any thread, under library locks,
 * so this never waits for the GIL. */
static void
release_pending (gpointer data)
{
  TwPyPending *pending = data;
  TwPyPending *head;

  if (Py_IsInitialized () && PyGILState_Check ())
    {
      drop_key (pending);
      g_free (pending);
      return;
    }

  do
    {
      head = g_atomic_pointer_get (&pending_head);
      pending->next = head;
    }
  while (!g_atomic_pointer_compare_and_exchange (&pending_head, head, pending));
}

/* A new floating tw-python-ref frame naming @value, or NULL with an
 * exception set; its key, a TASK_KEY if @task, goes to @key_out. */
static GVariant *
ref_frame_new (PyObject *value,
               gboolean  task,
               guint64  *key_out)
{
  guint64 key = KEY_BASE | (task ? TASK_KEY : 0) | key_serial++;
  TwPyFrame *frame;
  PyObject *py_key;
  guint64 key_le;

  py_key = PyLong_FromUnsignedLongLong (key);
  if (py_key == NULL || PyDict_SetItem (objects_table, py_key, value) < 0)
    {
      Py_XDECREF (py_key);
      return NULL;
    }
  Py_DECREF (py_key);

  frame = g_new (TwPyFrame, 1);
  frame->pending.key = key;
  frame->pending.is_task = FALSE;
  key_le = GUINT64_TO_LE (key);
  memcpy (frame->data, REF_TAG, sizeof REF_TAG);
  memcpy (frame->data + sizeof REF_TAG, &key_le, KEY_BYTES);
  frame->data[sizeof frame->data - 1] = sizeof REF_TAG;   /* the string's end */
  if (key_out != NULL)
    *key_out = key;

  return g_variant_new_from_data (G_VARIANT_TYPE ("(say)"), frame->data, sizeof frame->data,
                                  TRUE, release_pending, frame);
}

/* The key of a tw-python-ref (or, if @chunk is not NULL, -ref-chunk) frame,
 * or FALSE for any other value. */
static gboolean
ref_frame_key (GVariant *variant,
               guint64  *key,
               gboolean *chunk)
{
  const guint8 *data;
  gsize size, tag_size;
  guint64 key_le;

  if (!g_variant_is_of_type (variant, G_VARIANT_TYPE ("(say)")))
    return FALSE;
  size = g_variant_get_size (variant);
  data = g_variant_get_data (variant);
  if (size == sizeof REF_TAG + KEY_BYTES + 1 && memcmp (data, REF_TAG, sizeof REF_TAG) == 0)
    tag_size = sizeof REF_TAG;
  else if (chunk != NULL && size == sizeof REF_CHUNK_TAG + KEY_BYTES + 1 &&
           memcmp (data, REF_CHUNK_TAG, sizeof REF_CHUNK_TAG) == 0)
    tag_size = sizeof REF_CHUNK_TAG;
  else
    return FALSE;
  if (data[size - 1] != tag_size)
    return FALSE;

  memcpy (&key_le, data + tag_size, KEY_BYTES);
  *key = GUINT64_FROM_LE (key_le);
  if (chunk != NULL)
    *chunk = tag_size == sizeof REF_CHUNK_TAG;
  return TRUE;
}

/* A new reference to the object that @key names, or NULL with an exception. */
static PyObject *
lookup_key (guint64 key)
{
  PyObject *py_key = PyLong_FromUnsignedLongLong (key);
  PyObject *value;

  if (py_key == NULL)
    return NULL;
  value = PyDict_GetItemWithError (objects_table, py_key);
  Py_DECREF (py_key);
  if (value == NULL && !PyErr_Occurred ())
    PyErr_SetString (PyExc_TypeError,
                     "a value passed by reference outlived its GVariant");
  Py_XINCREF (value);
  return value;
}

/* The worker -------------------------------------------------------------- */

#define TW_PY_TYPE_CALL_WORKER (tw_py_call_worker_get_type ())
G_DECLARE_FINAL_TYPE (TwPyCallWorker, tw_py_call_worker, TW_PY, CALL_WORKER, TwWorker)

struct _TwPyCallWorker
{
  TwWorker parent_instance;

  char             *target;   /* construct-only: the callable, for setup_hook */

  /* Set in setup and cleared in teardown, in the worker's thread. */
  PyObject         *func;
  gboolean          in_worker_process;   /* values travel pickled, see process_call() */
  PyGILState_STATE  gil_state;
  PyThreadState    *thread_state;   /* while this thread does not hold the GIL */
};

G_DEFINE_FINAL_TYPE (TwPyCallWorker, tw_py_call_worker, TW_TYPE_WORKER)

enum { PROP_0, PROP_TARGET, N_PROPS };

static GParamSpec *properties [N_PROPS];

/* The task that this thread runs, for current_cancellable(). */
static GPrivate current_cancellable;

/* The GError of the exception set in this thread (which holds the GIL),
 * as error_hook makes it: it keeps an exception of a task passed by
 * reference under the key of the task's input frame, @key (0: none),
 * which the future of submit() owns if it is a TASK_KEY. */
static GError *
error_from_exception (guint64 key)
{
  PyObject *type, *exc, *tb, *py_key, *parts = NULL;
  const char *domain, *message;
  GError *result = NULL;
  int code;

  PyErr_Fetch (&type, &exc, &tb);
  PyErr_NormalizeException (&type, &exc, &tb);
  if (tb != NULL)
    PyException_SetTraceback (exc, tb);
  Py_XDECREF (type);
  Py_XDECREF (tb);

  py_key = PyLong_FromUnsignedLongLong (key);
  if (py_key != NULL && (!IS_TASK_KEY (key) || PySet_Add (failed_keys, py_key) == 0))
    parts = PyObject_CallFunctionObjArgs (error_hook, py_key, exc,
                                          IS_TASK_KEY (key) ? Py_True : Py_False, NULL);
  if (parts != NULL && PyArg_ParseTuple (parts, "sis", &domain, &code, &message))
    result = g_error_new_literal (g_quark_from_string (domain), code, message);
  if (result == NULL)
    {
      PyErr_WriteUnraisable (error_hook);
      result = g_error_new_literal (g_quark_from_static_string ("tw-python-error-quark"), 0,
                                    "The Python worker's exception could not be reported");
    }
  Py_XDECREF (parts);
  Py_XDECREF (py_key);
  Py_XDECREF (exc);
  return result;
}

/* The Python value of @input, and whether it is a map() chunk. */
static PyObject *
input_value (GVariant *input,
             guint64  *key,
             gboolean *chunk)
{
  PyObject *pair, *value;

  if (ref_frame_key (input, key, chunk))
    return lookup_key (*key);

  pair = PyObject_CallFunction (input_hook, "sy#", g_variant_get_type_string (input),
                                (const char *) g_variant_get_data (input),
                                (Py_ssize_t) g_variant_get_size (input));
  if (pair == NULL)
    return NULL;
  if (!PyTuple_Check (pair) || PyTuple_GET_SIZE (pair) != 2)
    {
      Py_DECREF (pair);
      PyErr_SetString (PyExc_TypeError, "the input hook must return a pair");
      return NULL;
    }
  value = Py_NewRef (PyTuple_GET_ITEM (pair, 0));
  *chunk = PyObject_IsTrue (PyTuple_GET_ITEM (pair, 1)) == 1;
  Py_DECREF (pair);
  return value;
}

/* func(value), or the list of func(item) for a chunk. */
static PyObject *
call_func (PyObject *func,
           PyObject *value,
           gboolean  chunk)
{
  PyObject *items, *results;
  Py_ssize_t n;

  if (!chunk)
    return PyObject_CallOneArg (func, value);

  items = PySequence_Fast (value, "a map() chunk must be a list");
  if (items == NULL)
    return NULL;
  n = PySequence_Fast_GET_SIZE (items);
  results = PyList_New (n);
  for (Py_ssize_t i = 0; results != NULL && i < n; i++)
    {
      PyObject *result = PyObject_CallOneArg (func, PySequence_Fast_GET_ITEM (items, i));

      if (result == NULL)
        Py_CLEAR (results);
      else
        PyList_SET_ITEM (results, i, result);
    }
  Py_DECREF (items);
  return results;
}

/* A task in a worker process (a troupe switched to process mode): the
 * override's Python code decodes and encodes its pickled values. */
static GVariant *
process_call (TwPyCallWorker *self,
              GVariant       *input)
{
  PyObject *output;
  const char *type_string;
  const char *data;
  Py_ssize_t size;
  GVariant *result = NULL;

  output = PyObject_CallFunction (process_hook, "Osy#", self->func,
                                  g_variant_get_type_string (input),
                                  (const char *) g_variant_get_data (input),
                                  (Py_ssize_t) g_variant_get_size (input));
  if (output == NULL)
    return NULL;
  if (PyArg_ParseTuple (output, "sy#", &type_string, &data, &size))
    {
      if (g_variant_type_string_is_valid (type_string))
        result = g_variant_new_from_data (G_VARIANT_TYPE (type_string), g_memdup2 (data, size),
                                          size, FALSE, g_free, NULL);
      else
        PyErr_Format (PyExc_ValueError, "bad GVariant type %s", type_string);
    }
  Py_DECREF (output);
  return result;
}

/* A task in this process: its value passed by reference, and back. */
static GVariant *
thread_call (TwPyCallWorker *self,
             GVariant       *input,
             guint64        *key)
{
  GVariant *output = NULL;
  PyObject *value, *result = NULL;
  gboolean chunk = FALSE;

  value = input_value (input, key, &chunk);
  if (value != NULL)
    result = call_func (self->func, value, chunk);
  if (result != NULL)
    output = ref_frame_new (result, FALSE, NULL);
  Py_XDECREF (value);
  Py_XDECREF (result);
  return output;
}

static GVariant *
tw_py_call_worker_call (TwWorker      *worker,
                        GVariant      *input,
                        GCancellable  *cancellable,
                        GError       **error)
{
  TwPyCallWorker *self = TW_PY_CALL_WORKER (worker);
  GVariant *output;
  guint64 key = 0;

  PyEval_RestoreThread (self->thread_state);
  drain_pending ();
  g_private_set (&current_cancellable, cancellable);

  if (self->in_worker_process)
    output = process_call (self, input);
  else
    output = thread_call (self, input, &key);
  if (output == NULL)
    g_propagate_error (error, error_from_exception (key));

  g_private_set (&current_cancellable, NULL);
  self->thread_state = PyEval_SaveThread ();
  return output;
}

static gboolean
tw_py_call_worker_setup (TwWorker      *worker,
                         GCancellable  *cancellable,
                         GError       **error)
{
  TwPyCallWorker *self = TW_PY_CALL_WORKER (worker);
  PyObject *setup;

  /* This thread's state, kept until teardown so that a task does not
   * make one. */
  self->gil_state = PyGILState_Ensure ();
  setup = PyObject_CallFunction (setup_hook, "s", self->target ? self->target : "");
  if (setup != NULL &&
      PyArg_ParseTuple (setup, "Op", &self->func, &self->in_worker_process))
    Py_INCREF (self->func);
  Py_XDECREF (setup);
  if (self->func == NULL)
    {
      g_propagate_error (error, error_from_exception (0));
      PyGILState_Release (self->gil_state);
      return FALSE;
    }
  self->thread_state = PyEval_SaveThread ();
  return TRUE;
}

static void
tw_py_call_worker_teardown (TwWorker *worker)
{
  TwPyCallWorker *self = TW_PY_CALL_WORKER (worker);

  PyEval_RestoreThread (self->thread_state);
  self->thread_state = NULL;
  Py_CLEAR (self->func);
  /* The last inputs that this thread dropped. */
  drain_pending ();
  PyGILState_Release (self->gil_state);
}

static void
tw_py_call_worker_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  TwPyCallWorker *self = TW_PY_CALL_WORKER (object);

  switch (prop_id)
    {
    case PROP_TARGET:
      g_free (self->target);
      self->target = g_value_dup_string (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tw_py_call_worker_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  TwPyCallWorker *self = TW_PY_CALL_WORKER (object);

  switch (prop_id)
    {
    case PROP_TARGET:
      g_value_set_string (value, self->target);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tw_py_call_worker_finalize (GObject *object)
{
  TwPyCallWorker *self = TW_PY_CALL_WORKER (object);

  g_free (self->target);
  G_OBJECT_CLASS (tw_py_call_worker_parent_class)->finalize (object);
}

static void
tw_py_call_worker_class_init (TwPyCallWorkerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  TwWorkerClass *worker_class = TW_WORKER_CLASS (klass);

  object_class->set_property = tw_py_call_worker_set_property;
  object_class->get_property = tw_py_call_worker_get_property;
  object_class->finalize = tw_py_call_worker_finalize;
  worker_class->setup = tw_py_call_worker_setup;
  worker_class->call = tw_py_call_worker_call;
  worker_class->teardown = tw_py_call_worker_teardown;

  properties [PROP_TARGET] =
    g_param_spec_string ("target", NULL, "The key of the Python callable", NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tw_py_call_worker_init (TwPyCallWorker *self)
{
}

/* The module -------------------------------------------------------------- */

/* What result() returns instead of a value: the Python code takes over. */
static PyObject *not_fast;
static PyObject *timed_out;

/* The longest that a blocking wait holds signal handlers (Ctrl-C) back. */
#define WAIT_SLICE_USEC (G_USEC_PER_SEC / 20)

static gboolean
check_nargs (const char *name,
             Py_ssize_t  nargs,
             Py_ssize_t  wanted)
{
  if (nargs == wanted)
    return TRUE;
  PyErr_Format (PyExc_TypeError, "%s() takes %zd arguments (%zd given)", name, wanted, nargs);
  return FALSE;
}

static gpointer
gobject_arg (PyObject   *arg,
             GType       type,
             const char *what)
{
  if (!PyObject_TypeCheck (arg, &PyGObject_Type) ||
      !G_TYPE_CHECK_INSTANCE_TYPE (pygobject_get (arg), type))
    {
      PyErr_Format (PyExc_TypeError, "expected a %s, not %s", what, Py_TYPE (arg)->tp_name);
      return NULL;
    }
  return pygobject_get (arg);
}

static PyObject *
speedups_configure (PyObject *module,
                    PyObject *args)
{
  if (objects_table != NULL)
    {
      PyErr_SetString (PyExc_RuntimeError, "configure() runs once");
      return NULL;
    }
  if (!PyArg_ParseTuple (args, "O!OOOOOO!", &PyDict_Type, &objects_table, &setup_hook,
                         &input_hook, &process_hook, &error_hook, &forget_hook,
                         &PyType_Type, &variant_class))
    return NULL;
  failed_keys = PySet_New (NULL);
  if (failed_keys == NULL)
    return NULL;
  Py_INCREF (objects_table);
  Py_INCREF (setup_hook);
  Py_INCREF (input_hook);
  Py_INCREF (process_hook);
  Py_INCREF (error_hook);
  Py_INCREF (forget_hook);
  Py_INCREF (variant_class);
  Py_RETURN_NONE;
}

/* Whether the weak reference @ref names a future that has not settled. */
static gboolean
is_pending (PyObject *ref)
{
  PyObject *future = PyWeakref_GetObject (ref);

  return future != NULL && PyObject_TypeCheck (future, &PyGObject_Type) &&
         TW_IS_FUTURE (pygobject_get (future)) &&
         !tw_future_is_done (TW_FUTURE (pygobject_get (future)));
}

/* Drops the entries of dead or settled futures from @tracked, the
 * override's list of a troupe's futures ([count when last pruned,
 * refs...]; see _tw_future.track()). It calls no Python code and keeps
 * the GIL, so no other thread changes the list meanwhile. */
static int
prune (PyObject *tracked)
{
  Py_ssize_t n = PyList_GET_SIZE (tracked);
  Py_ssize_t kept = 1;
  PyObject *count;

  for (Py_ssize_t i = 1; i < n; i++)
    {
      PyObject *ref = PyList_GET_ITEM (tracked, i);

      if (PyWeakref_Check (ref) && is_pending (ref))
        {
          Py_INCREF (ref);
          PyList_SetItem (tracked, kept++, ref);
        }
    }
  count = PyLong_FromSsize_t (kept - 1);
  if (count == NULL || PyList_SetSlice (tracked, kept, n, NULL) < 0)
    {
      Py_XDECREF (count);
      return -1;
    }
  PyList_SetItem (tracked, 0, count);
  return 0;
}

static PyObject *
speedups_prune (PyObject *module,
                PyObject *tracked)
{
  if (!PyList_CheckExact (tracked) || PyList_GET_SIZE (tracked) < 1)
    return PyErr_Format (PyExc_TypeError, "prune() takes a tracking list");
  if (prune (tracked) < 0)
    return NULL;
  Py_RETURN_NONE;
}

/* Appends a weak reference to @future to @tracked, pruned now and then
 * to at most twice what is live, as _tw_future.track() does; 0, or -1
 * with an exception. */
static int
track (PyObject *tracked,
       PyObject *future)
{
  PyObject *ref;
  long count;
  int appended;

  ref = PyWeakref_NewRef (future, NULL);
  if (ref == NULL)
    return -1;
  appended = PyList_Append (tracked, ref);
  Py_DECREF (ref);
  if (appended < 0)
    return -1;

  count = PyLong_AsLong (PyList_GET_ITEM (tracked, 0));
  if (count == -1 && PyErr_Occurred ())
    return -1;
  if (PyList_GET_SIZE (tracked) <= 2 * count + 64)
    return 0;
  return prune (tracked);
}

static gboolean
is_fast_value (PyObject *value)
{
  if (PyObject_TypeCheck (value, (PyTypeObject *) variant_class))
    return FALSE;
  return !PyObject_TypeCheck (value, &PyGObject_Type) ||
         !TW_IS_FUTURE (pygobject_get (value));
}

/* submit(troupe, value, tracked): tw_troupe_submit() of a frame naming
 * @value, without dropping the GIL (unless max-queued may make it block),
 * tracked in the list @tracked; NOT_FAST for a GLib.Variant or a
 * Tw.Future, which the Python code submits. */
static PyObject *
speedups_submit (PyObject        *module,
                 PyObject *const *args,
                 Py_ssize_t       nargs)
{
  TwTroupe *troupe;
  TwFuture *future;
  GVariant *frame;
  TwPyPending *task;
  PyObject *wrapper;
  guint64 key;

  if (!check_nargs ("submit", nargs, 3) ||
      (troupe = gobject_arg (args[0], TW_TYPE_TROUPE, "Tw.Troupe")) == NULL)
    return NULL;
  if (objects_table == NULL || !PyList_CheckExact (args[2]) || PyList_GET_SIZE (args[2]) < 1)
    return PyErr_Format (PyExc_TypeError, "submit(): configure() first, and a tracking list");
  if (!is_fast_value (args[1]))
    return Py_NewRef (not_fast);

  drain_pending ();
  frame = ref_frame_new (args[1], TRUE, &key);
  if (frame == NULL)
    return NULL;

  if (tw_troupe_get_max_queued (troupe) == 0)
    {
      future = tw_troupe_submit (troupe, frame);
    }
  else
    {
      Py_BEGIN_ALLOW_THREADS
      future = tw_troupe_submit (troupe, frame);
      Py_END_ALLOW_THREADS
    }

  /* The override keeps the task's exception under its key until this
   * future is gone. */
  task = g_new (TwPyPending, 1);
  task->key = key;
  task->is_task = TRUE;
  g_object_set_qdata_full (G_OBJECT (future), task_quark, task, release_pending);

  wrapper = pygobject_new (G_OBJECT (future));
  g_object_unref (future);
  if (wrapper != NULL && track (args[2], wrapper) < 0)
    Py_CLEAR (wrapper);
  return wrapper;
}

/* 1 once @future has settled, 0 if @timeout_usec (-1: none) passed
 * first, -1 with an exception if a signal handler raised. */
static int
wait_settled (TwFuture *future,
              gint64    timeout_usec)
{
  gint64 deadline = timeout_usec < 0 ? -1 : g_get_monotonic_time () + timeout_usec;

  while (!tw_future_is_done (future))
    {
      gint64 slice = WAIT_SLICE_USEC;
      GVariant *value;

      if (deadline >= 0)
        {
          slice = MIN (slice, deadline - g_get_monotonic_time ());
          if (slice <= 0)
            return 0;
        }

      Py_BEGIN_ALLOW_THREADS
      value = tw_future_wait (future, slice, NULL);
      Py_END_ALLOW_THREADS
      g_clear_pointer (&value, g_variant_unref);

      if (PyErr_CheckSignals () < 0)
        return -1;
    }
  return 1;
}

/* result(future, timeout): the value of a future that succeeded with a
 * frame of this module, waiting for at most @timeout seconds (None: no
 * limit) with the GIL dropped; else TIMED_OUT, or NOT_FAST if the Python
 * code must unwrap the outcome. */
static PyObject *
speedups_result (PyObject        *module,
                 PyObject *const *args,
                 Py_ssize_t       nargs)
{
  TwFuture *future;
  GVariant *value;
  PyObject *result;
  gint64 timeout_usec = -1;
  guint64 key;
  int settled;

  if (!check_nargs ("result", nargs, 2) ||
      (future = gobject_arg (args[0], TW_TYPE_FUTURE, "Tw.Future")) == NULL)
    return NULL;
  if (args[1] != Py_None)
    {
      double timeout = PyFloat_AsDouble (args[1]);

      if (timeout == -1.0 && PyErr_Occurred ())
        return NULL;
      timeout_usec = (gint64) (MAX (0.0, timeout) * G_USEC_PER_SEC);
    }

  settled = wait_settled (future, timeout_usec);
  if (settled <= 0)
    return settled < 0 ? NULL : Py_NewRef (timed_out);
  if (tw_future_get_state (future) != TW_FUTURE_STATE_SUCCEEDED)
    return Py_NewRef (not_fast);

  /* The values that from_variant() would make, the common ones here. */
  value = tw_future_wait (future, 0, NULL);
  if (value != NULL && ref_frame_key (value, &key, NULL))
    result = lookup_key (key);
  else if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
    result = PyLong_FromLongLong (g_variant_get_int64 (value));
  else if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_DOUBLE))
    result = PyFloat_FromDouble (g_variant_get_double (value));
  else
    result = Py_NewRef (not_fast);
  g_clear_pointer (&value, g_variant_unref);
  return result;
}

/* current_cancellable(): the Gio.Cancellable of the task that this
 * worker thread runs, or None. */
static PyObject *
speedups_current_cancellable (PyObject *module,
                              PyObject *unused)
{
  GCancellable *cancellable = g_private_get (&current_cancellable);

  if (cancellable == NULL)
    Py_RETURN_NONE;
  return pygobject_new (G_OBJECT (cancellable));
}

/* Also a gc.callbacks entry, which is called with two arguments. */
static PyObject *
speedups_drain (PyObject *module,
                PyObject *args)
{
  drain_pending ();
  Py_RETURN_NONE;
}

static PyMethodDef speedups_methods[] = {
  { "configure", speedups_configure, METH_VARARGS,
    "configure(objects, setup_hook, input_hook, process_hook, error_hook, forget_hook, "
    "variant_class)" },
  { "submit", (PyCFunction) (void (*) (void)) speedups_submit, METH_FASTCALL,
    "submit(troupe, value, tracked) -> Tw.Future or NOT_FAST" },
  { "result", (PyCFunction) (void (*) (void)) speedups_result, METH_FASTCALL,
    "result(future, timeout) -> value, NOT_FAST or TIMED_OUT" },
  { "current_cancellable", speedups_current_cancellable, METH_NOARGS,
    "current_cancellable() -> Gio.Cancellable or None" },
  { "prune", speedups_prune, METH_O,
    "prune(tracked): drops the entries of dead and settled futures" },
  { "drain", speedups_drain, METH_VARARGS,
    "drain(*ignored): drops the keys of values freed without the GIL" },
  { NULL, NULL, 0, NULL }
};

static struct PyModuleDef speedups_module = {
  PyModuleDef_HEAD_INIT,
  .m_name = "_tw_speedups",
  .m_doc = "The thread-mode fast path of the Tw override (see _tw_fast.py).",
  .m_size = -1,
  .m_methods = speedups_methods,
};

PyMODINIT_FUNC PyInit__tw_speedups (void);

PyMODINIT_FUNC
PyInit__tw_speedups (void)
{
  PyObject *module;

  if (pygobject_init (3, 0, 0) == NULL)
    return NULL;

  module = PyModule_Create (&speedups_module);
  if (module == NULL)
    return NULL;

  task_quark = g_quark_from_static_string ("tw-python-task-key");
  not_fast = PyObject_CallNoArgs ((PyObject *) &PyBaseObject_Type);
  timed_out = PyObject_CallNoArgs ((PyObject *) &PyBaseObject_Type);
  if (not_fast == NULL || timed_out == NULL ||
      PyModule_AddObjectRef (module, "NOT_FAST", not_fast) < 0 ||
      PyModule_AddObjectRef (module, "TIMED_OUT", timed_out) < 0 ||
      PyModule_AddStringConstant (module, "WORKER_TYPE",
                                  g_type_name (TW_PY_TYPE_CALL_WORKER)) < 0)
    {
      Py_DECREF (module);
      return NULL;
    }
  return module;
}
