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
 * _tw_speedups-frames.c makes and reads the frames; _tw_speedups-worker.c
 * is the worker.
 */

#include "_tw_speedups.h"

#include <pygobject.h>

#include <math.h>
#include <string.h>

static GQuark task_quark;
static GQuark tracked_quark;

/* What result() returns instead of a value: the Python code takes over. */
static PyObject *not_fast;
static PyObject *timed_out;

/* The longest that a blocking wait holds signal handlers (Ctrl-C) back. */
#define WAIT_SLICE_USEC (G_USEC_PER_SEC / 20)

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

/* configure(objects, setup, input, process, error, forget, variant_class,
 * in_worker_process): the members of tw_py_hooks but failed_keys, once. */
static PyObject *
speedups_configure (PyObject *module,
                    PyObject *args)
{
  TwPyHooks hooks = { NULL, };

  if (tw_py_hooks.objects != NULL)
    return PyErr_Format (PyExc_RuntimeError, "configure() runs once");
  if (!PyArg_ParseTuple (args, "O!OOOOOO!O", &PyDict_Type, &hooks.objects, &hooks.setup,
                         &hooks.input, &hooks.process, &hooks.error, &hooks.forget,
                         &PyType_Type, &hooks.variant_class, &hooks.in_worker_process))
    return NULL;
  hooks.failed_keys = PySet_New (NULL);
  if (hooks.failed_keys == NULL)
    return NULL;
  Py_INCREF (hooks.objects);
  Py_INCREF (hooks.setup);
  Py_INCREF (hooks.input);
  Py_INCREF (hooks.process);
  Py_INCREF (hooks.error);
  Py_INCREF (hooks.forget);
  Py_INCREF (hooks.variant_class);
  Py_INCREF (hooks.in_worker_process);
  tw_py_hooks = hooks;
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

/* A task of the C submit(), from its submit until its future goes: the
 * override keeps the task's exception under its key until then, and
 * abort() finds its future here to cancel it. */
typedef struct _TwPyTask TwPyTask;
struct _TwPyTask
{
  TwPyPending  pending;   /* first: freed as a TwPyPending */
  TwPyTask    *prev;      /* the others under tasks_lock */
  TwPyTask    *next;
  TwFuture    *future;    /* unowned: it owns this */
  TwTroupe    *troupe;    /* unowned, only compared */
};

static GMutex tasks_lock;
static TwPyTask *tasks;   /* under tasks_lock: the tasks whose futures live */

/* The destroy notify of @data, a TwPyTask, which its future runs when it
 * is finalized, in any thread. */
static void
task_gone (gpointer data)
{
  TwPyTask *task = data;

  g_mutex_lock (&tasks_lock);
  if (task->prev != NULL)
    task->prev->next = task->next;
  else
    tasks = task->next;
  if (task->next != NULL)
    task->next->prev = task->prev;
  g_mutex_unlock (&tasks_lock);
  tw_py_release_pending (&task->pending);
}

/* Tracks @future, a task of @troupe whose input frame has @key. */
static void
task_add (TwTroupe *troupe,
          TwFuture *future,
          guint64   key)
{
  TwPyTask *task = g_new (TwPyTask, 1);

  task->pending.key = key;
  task->pending.kind = TW_PY_KEY_TASK;
  task->future = future;
  task->troupe = troupe;
  task->prev = NULL;
  g_mutex_lock (&tasks_lock);
  task->next = tasks;
  if (tasks != NULL)
    tasks->prev = task;
  tasks = task;
  g_mutex_unlock (&tasks_lock);
  g_object_set_qdata_full (G_OBJECT (future), tracked_quark, task, task_gone);
}

/* A new reference to @object, or NULL if it is being finalized. With
 * tasks_lock held, a tracked future's memory outlives the lock, but not
 * its fields once its reference count is 0. Only from 2 up, which a
 * pending future has (its caller's and its troupe's), so that no toggle
 * reference ever changes hands here. */
static gpointer
try_ref (GObject *object)
{
  gint count;

  do
    {
      count = g_atomic_int_get ((gint *) &object->ref_count);
      if (count < 2)
        return NULL;
    }
  while (!g_atomic_int_compare_and_exchange ((gint *) &object->ref_count, count, count + 1));
  return object;
}

/* pending_futures(troupe): the futures of the C submit() of @troupe that
 * have not settled and that someone holds, for abort() to cancel. */
static PyObject *
speedups_pending_futures (PyObject *module,
                          PyObject *troupe_obj)
{
  g_autoptr(GPtrArray) alive = g_ptr_array_new_with_free_func (g_object_unref);
  TwTroupe *troupe;
  PyObject *list, *wrapper;

  if ((troupe = gobject_arg (troupe_obj, TW_TYPE_TROUPE, "Tw.Troupe")) == NULL)
    return NULL;
  g_mutex_lock (&tasks_lock);
  for (TwPyTask *task = tasks; task != NULL; task = task->next)
    {
      gpointer future = task->troupe == troupe ? try_ref (G_OBJECT (task->future)) : NULL;

      if (future != NULL)
        g_ptr_array_add (alive, future);
    }
  g_mutex_unlock (&tasks_lock);

  list = PyList_New (0);
  for (guint i = 0; list != NULL && i < alive->len; i++)
    {
      if (tw_future_is_done (g_ptr_array_index (alive, i)))
        continue;
      wrapper = pygobject_new (g_ptr_array_index (alive, i));
      if (wrapper == NULL || PyList_Append (list, wrapper) < 0)
        Py_CLEAR (list);
      Py_XDECREF (wrapper);
    }
  return list;
}

static gboolean
is_fast_value (PyObject *value)
{
  if (PyObject_TypeCheck (value, (PyTypeObject *) tw_py_hooks.variant_class))
    return FALSE;
  return !PyObject_TypeCheck (value, &PyGObject_Type) ||
         !TW_IS_FUTURE (pygobject_get (value));
}

/* Forgets @key, of @kind, when @future is finalized. */
static void
forget_with (TwFuture    *future,
             guint64      key,
             TwPyKeyKind  kind)
{
  TwPyPending *task = g_new (TwPyPending, 1);

  task->key = key;
  task->kind = kind;
  g_object_set_qdata_full (G_OBJECT (future), task_quark, task, tw_py_release_pending);
}

/* own(future, key): the override's forget hook runs for @key when
 * @future is finalized, in a thread that holds the GIL and with no
 * exception set (a GObject weak reference's Python callback may run with
 * one set, while a caller unwinds). */
static PyObject *
speedups_own (PyObject *module,
              PyObject *args)
{
  PyObject *future_obj;
  unsigned long long key;
  TwFuture *future;

  if (!PyArg_ParseTuple (args, "OK", &future_obj, &key) ||
      (future = gobject_arg (future_obj, TW_TYPE_FUTURE, "Tw.Future")) == NULL)
    return NULL;
  forget_with (future, key, TW_PY_KEY_OWNED_TASK);
  Py_RETURN_NONE;
}

/* A tw_troupe_submit() of a frame naming @value, without dropping the GIL
 * (unless max-queued may make it block), tracked for abort(); NOT_FAST
 * for a GLib.Variant or a Tw.Future, which the Python code submits. */
static PyObject *
submit_tracked (PyObject *troupe_obj,
                PyObject *value)
{
  TwTroupe *troupe;
  TwFuture *future;
  GVariant *frame;
  PyObject *wrapper;
  guint64 key;

  if ((troupe = gobject_arg (troupe_obj, TW_TYPE_TROUPE, "Tw.Troupe")) == NULL)
    return NULL;
  if (!is_fast_value (value))
    return Py_NewRef (not_fast);

  tw_py_drain_pending ();
  frame = tw_py_ref_frame_new (value, TRUE, &key);
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

  task_add (troupe, future, key);
  wrapper = pygobject_new (G_OBJECT (future));
  g_object_unref (future);
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

/* The value of a future that succeeded with a frame of this module (or a
 * plain int or float), waiting for at most @timeout seconds (None: no
 * limit) with the GIL dropped; else TIMED_OUT, or NOT_FAST if the Python
 * code must unwrap the outcome. */
static PyObject *
future_result (PyObject *future_obj,
               PyObject *timeout)
{
  TwFuture *future;
  GVariant *value;
  PyObject *result;
  gint64 timeout_usec = -1;
  guint64 key;
  int settled;

  if ((future = gobject_arg (future_obj, TW_TYPE_FUTURE, "Tw.Future")) == NULL)
    return NULL;
  if (timeout != Py_None)
    {
      double seconds = PyFloat_AsDouble (timeout);

      if (seconds == -1.0 && PyErr_Occurred ())
        return NULL;
      if (isnan (seconds))
        return PyErr_Format (PyExc_ValueError, "timeout must be a number of seconds, not nan");
      /* Past a million years (and for inf), no limit. */
      if (seconds < 3.2e13)
        timeout_usec = (gint64) (MAX (0.0, seconds) * G_USEC_PER_SEC);
    }

  settled = wait_settled (future, timeout_usec);
  if (settled <= 0)
    return settled < 0 ? NULL : Py_NewRef (timed_out);
  if (tw_future_get_state (future) != TW_FUTURE_STATE_SUCCEEDED)
    return Py_NewRef (not_fast);

  /* The values that from_variant() would make, the common ones here. */
  value = tw_future_wait (future, 0, NULL);
  if (value != NULL && tw_py_ref_frame_key (value, &key, NULL))
    result = tw_py_lookup_key (key);
  else if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
    result = PyLong_FromLongLong (g_variant_get_int64 (value));
  else if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_DOUBLE))
    result = PyFloat_FromDouble (g_variant_get_double (value));
  else
    result = Py_NewRef (not_fast);
  g_clear_pointer (&value, g_variant_unref);
  return result;
}

/* The methods ----------------------------------------------------------- */

/* What the methods fall back on, set once by install(). */
static PyObject *fast_troupes;    /* hash(troupe) -> True, for the troupes to take */
static PyObject *slow_submit;     /* Troupe.submit() in Python */
static PyObject *continuations;   /* not empty while result() may have to run a main context */
static PyObject *slow_result;     /* Future.result() in Python */
static PyObject *timed_out_hook;  /* (timeout) -> the exception of a result() that timed out */

/* slow(self, *args, **kwargs), from a method's vectorcall arguments. */
static PyObject *
call_slow (PyObject        *slow,
           PyObject        *self,
           PyObject *const *args,
           Py_ssize_t       nargs,
           PyObject        *kwnames)
{
  Py_ssize_t n = nargs + (kwnames == NULL ? 0 : PyTuple_GET_SIZE (kwnames));
  PyObject *small[8];
  PyObject **stack = n < (Py_ssize_t) G_N_ELEMENTS (small) ? small : g_new (PyObject *, n + 1);
  PyObject *result;

  stack[0] = self;
  memcpy (stack + 1, args, n * sizeof (PyObject *));
  result = PyObject_Vectorcall (slow, stack, nargs + 1, kwnames);
  if (stack != small)
    g_free (stack);
  return result;
}

/* Troupe.submit(self, value): submit_tracked() for the troupes enabled. */
static PyObject *
troupe_submit_method (PyObject        *self,
                      PyObject *const *args,
                      Py_ssize_t       nargs,
                      PyObject        *kwnames)
{
  PyObject *key, *enabled = NULL, *future;
  Py_hash_t hash;

  if (nargs == 1 && kwnames == NULL)
    {
      if ((hash = PyObject_Hash (self)) == -1 || (key = PyLong_FromSsize_t (hash)) == NULL)
        return NULL;
      enabled = PyDict_GetItemWithError (fast_troupes, key);
      Py_DECREF (key);
      if (enabled == NULL && PyErr_Occurred ())
        return NULL;
    }
  if (enabled != NULL)
    {
      future = submit_tracked (self, args[0]);
      if (future != not_fast)
        return future;
      Py_DECREF (future);
    }
  return call_slow (slow_submit, self, args, nargs, kwnames);
}

/* Future.result(self, timeout=None): future_result(), unless Python
 * continuations are pending (result() may have to run them). */
static PyObject *
future_result_method (PyObject        *self,
                      PyObject *const *args,
                      Py_ssize_t       nargs,
                      PyObject        *kwnames)
{
  Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE (kwnames);
  PyObject *timeout = Py_None, *value, *exc;

  if (nkw == 1 && nargs == 0 &&
      PyUnicode_CompareWithASCIIString (PyTuple_GET_ITEM (kwnames, 0), "timeout") == 0)
    timeout = args[0];
  else if (nkw != 0 || nargs > 1)
    return call_slow (slow_result, self, args, nargs, kwnames);
  else if (nargs == 1)
    timeout = args[0];

  if (PyDict_Size (continuations) != 0)
    return call_slow (slow_result, self, args, nargs, kwnames);

  value = future_result (self, timeout);
  if (value == timed_out)
    {
      Py_DECREF (value);
      exc = PyObject_CallOneArg (timed_out_hook, timeout);
      if (exc != NULL)
        PyErr_SetObject ((PyObject *) Py_TYPE (exc), exc);
      Py_XDECREF (exc);
      return NULL;
    }
  if (value != not_fast)
    return value;
  Py_DECREF (value);
  return call_slow (slow_result, self, args, nargs, kwnames);
}

static PyMethodDef submit_method_def = {
  "submit", (PyCFunction) (void (*) (void)) troupe_submit_method,
  METH_FASTCALL | METH_KEYWORDS, NULL
};
static PyMethodDef result_method_def = {
  "result", (PyCFunction) (void (*) (void)) future_result_method,
  METH_FASTCALL | METH_KEYWORDS, NULL
};

/* A method of @klass, as a built-in method is (Python calls it without
 * making a bound method), documented as @slow is, with the text signature
 * @signature. */
static PyObject *
new_method (PyMethodDef *def,
            PyObject    *klass,
            PyObject    *slow,
            const char  *signature)
{
  PyObject *doc = PyObject_GetAttrString (slow, "__doc__");

  if (doc == NULL)
    return NULL;
  /* Kept for good, as install() runs once. */
  def->ml_doc = g_strdup_printf ("%s\n--\n\n%s", signature,
                                 PyUnicode_Check (doc) ? PyUnicode_AsUTF8 (doc) : "");
  Py_DECREF (doc);
  return PyDescr_NewMethod ((PyTypeObject *) klass, def);
}

/* install(fast_troupes, Troupe, slow_submit, continuations, Future,
 * slow_result, timed_out): the C Troupe.submit() and Future.result(). */
static PyObject *
speedups_install (PyObject *module,
                  PyObject *args)
{
  PyObject *troupes, *troupe_class, *submit, *pending, *future_class, *result;
  PyObject *timed_out_exception;

  if (fast_troupes != NULL || tw_py_hooks.objects == NULL)
    return PyErr_Format (PyExc_RuntimeError, "install() runs once, after configure()");
  if (!PyArg_ParseTuple (args, "O!O!OO!O!OO", &PyDict_Type, &troupes, &PyType_Type,
                         &troupe_class, &submit, &PyDict_Type, &pending, &PyType_Type,
                         &future_class, &result, &timed_out_exception))
    return NULL;
  fast_troupes = Py_NewRef (troupes);
  slow_submit = Py_NewRef (submit);
  continuations = Py_NewRef (pending);
  slow_result = Py_NewRef (result);
  timed_out_hook = Py_NewRef (timed_out_exception);

  submit = new_method (&submit_method_def, troupe_class, slow_submit, "submit($self, value)");
  result = new_method (&result_method_def, future_class, slow_result,
                       "result($self, timeout=None)");
  if (submit == NULL || result == NULL)
    {
      Py_XDECREF (submit);
      Py_XDECREF (result);
      return NULL;
    }
  return Py_BuildValue ("(NN)", submit, result);
}

/* current_cancellable(): the Gio.Cancellable of the task that this
 * worker thread runs, or None. */
static PyObject *
speedups_current_cancellable (PyObject *module,
                              PyObject *unused)
{
  GCancellable *cancellable = tw_py_call_worker_current_cancellable ();

  if (cancellable == NULL)
    Py_RETURN_NONE;
  return pygobject_new (G_OBJECT (cancellable));
}

/* Also a gc.callbacks entry, which is called with two arguments. */
static PyObject *
speedups_drain (PyObject *module,
                PyObject *args)
{
  tw_py_drain_pending ();
  Py_RETURN_NONE;
}

/* patch_worker_class(gtype, raw): whether the Tw.Worker subclass @gtype,
 * whose do_call() runs work() or, if @raw, is the override's guard of the
 * class's own, now runs it on the C path in thread mode. */
static PyObject *
speedups_patch_worker_class (PyObject *module,
                             PyObject *args)
{
  PyObject *gtype;
  GType type;
  int raw;

  if (!PyArg_ParseTuple (args, "Op", &gtype, &raw) || (type = pyg_type_from_object (gtype)) == 0)
    return NULL;
  if (tw_py_hooks.objects == NULL)
    return PyErr_Format (PyExc_RuntimeError, "configure() first");
  return PyBool_FromLong (tw_py_patch_worker_class (type, raw));
}

static PyMethodDef speedups_methods[] = {
  { "configure", speedups_configure, METH_VARARGS,
    "configure(objects, setup, input, process, error, forget, variant_class, "
    "in_worker_process)" },
  { "patch_worker_class", speedups_patch_worker_class, METH_VARARGS,
    "patch_worker_class(gtype, raw) -> whether its work(), or its raw do_call(), now runs "
    "on the C path" },
  { "install", speedups_install, METH_VARARGS,
    "install(fast_troupes, Troupe, slow_submit, continuations, Future, slow_result, "
    "timed_out)\n"
    "-> (Troupe.submit, Future.result)" },
  { "current_cancellable", speedups_current_cancellable, METH_NOARGS,
    "current_cancellable() -> Gio.Cancellable or None" },
  { "own", speedups_own, METH_VARARGS,
    "own(future, key): calls the forget hook for key once future is finalized" },
  { "pending_futures", speedups_pending_futures, METH_O,
    "pending_futures(troupe): the unsettled futures of the C submit() of troupe" },
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
  tracked_quark = g_quark_from_static_string ("tw-python-tracked-task");
  not_fast = PyObject_CallNoArgs ((PyObject *) &PyBaseObject_Type);
  timed_out = PyObject_CallNoArgs ((PyObject *) &PyBaseObject_Type);
  if (not_fast == NULL || timed_out == NULL ||
      PyModule_AddStringConstant (module, "WORKER_TYPE",
                                  g_type_name (TW_PY_TYPE_CALL_WORKER)) < 0)
    {
      Py_DECREF (module);
      return NULL;
    }
  return module;
}
