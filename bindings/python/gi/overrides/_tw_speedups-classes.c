/* _tw_speedups-classes.c: Python Tw.Worker subclasses on the fast path
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

/* Through PyGObject, a task of a Python Tw.Worker subclass is one vfunc
 * call that takes the GIL, makes and drops a Python thread state and
 * wraps each argument. tw_py_patch_worker_class() gives a subclass that
 * implements work(), or a raw do_call(), C setup, call and teardown
 * functions: setup keeps the worker thread's Python thread state until
 * teardown, as the C worker of a function troupe does, and call runs
 * work() on the task's value with that worker's frames and exceptions,
 * or do_call() on the task's GLib.Variant. The class's own functions,
 * which PyGObject made, still run the deferred __init__(), do_setup() and
 * do_teardown(), and every work() task in a worker process, where values
 * travel pickled. */

#include "_tw_speedups.h"

#define NO_IMPORT_PYGOBJECT
#include <pygobject.h>

/* The functions a patched class had, which its workers still run. */
typedef struct
{
  gboolean  (*setup)    (TwWorker      *self,
                         GCancellable  *cancellable,
                         GError       **error);
  GVariant *(*call)     (TwWorker      *self,
                         GVariant      *input,
                         GCancellable  *cancellable,
                         GError       **error);
  void      (*teardown) (TwWorker      *self);
  gboolean    raw;      /* do_call() of GLib.Variant values, not work() */
} TwPyClassFuncs;

/* A thread-mode worker's state from setup to teardown, in its thread. */
typedef struct
{
  PyGILState_STATE  gil_state;
  PyThreadState    *thread_state;   /* while this thread does not hold the GIL */
  PyObject         *method;         /* the bound work(), or do_call() of a raw class */
  gboolean          raw;
} TwPyWorkerState;

static GQuark funcs_quark;   /* a patched GType's TwPyClassFuncs */
static GQuark state_quark;   /* a worker's TwPyWorkerState */

/* The functions of the patched class nearest to @type. */
static const TwPyClassFuncs *
class_funcs (GType type)
{
  const TwPyClassFuncs *funcs = NULL;

  for (; funcs == NULL && type != 0; type = g_type_parent (type))
    funcs = g_type_get_qdata (type, funcs_quark);
  g_assert (funcs != NULL);

  return funcs;
}
/* The bound method that runs a task of @worker, set up in this thread,
 * which holds the GIL; NULL in a worker process, where a Python-value
 * class's values travel pickled. */
static PyObject *
thread_mode_method (TwWorker *worker,
                    gboolean  raw)
{
  PyObject *in_process, *wrapper, *method = NULL;

  in_process = PyObject_CallNoArgs (tw_py_hooks.in_worker_process);
  if (in_process != NULL && (raw || !PyObject_IsTrue (in_process)) &&
      (wrapper = pygobject_new (G_OBJECT (worker))) != NULL)
    {
      method = PyObject_GetAttrString (wrapper, raw ? "do_call" : "work");
      Py_DECREF (wrapper);
    }
  Py_XDECREF (in_process);
  /* The class's own call then runs every task, and says what is wrong. */
  if (PyErr_Occurred ())
    PyErr_WriteUnraisable (tw_py_hooks.in_worker_process);

  return method;
}

/* The class's own setup (the deferred __init__() and do_setup()), with
 * this thread's Python thread state made first and kept until teardown,
 * so that a task makes none and threading.local() lasts. */
static gboolean
fast_setup (TwWorker      *worker,
            GCancellable  *cancellable,
            GError       **error)
{
  const TwPyClassFuncs *funcs = class_funcs (G_OBJECT_TYPE (worker));
  PyGILState_STATE gil_state = PyGILState_Ensure ();
  TwPyWorkerState *state;
  PyObject *method;

  if (funcs->setup != NULL && !funcs->setup (worker, cancellable, error))
    {
      PyGILState_Release (gil_state);
      return FALSE;
    }

  method = thread_mode_method (worker, funcs->raw);
  if (method == NULL)
    {
      PyGILState_Release (gil_state);
      return TRUE;
    }

  state = g_new (TwPyWorkerState, 1);
  state->gil_state = gil_state;
  state->method = method;
  state->raw = funcs->raw;
  g_object_set_qdata (G_OBJECT (worker), state_quark, state);
  state->thread_state = PyEval_SaveThread ();
  return TRUE;
}

/* A raw do_call() of GLib.Variant values, as PyGObject would call it. */
static GVariant *
call_raw (PyObject      *do_call,
          GVariant      *input,
          GCancellable  *cancellable,
          GError       **error)
{
  GValue value = G_VALUE_INIT;
  PyObject *py_input, *py_cancellable, *result = NULL;
  GVariant *output = NULL;

  g_value_init (&value, G_TYPE_VARIANT);
  g_value_set_variant (&value, input);
  py_input = pyg_value_as_pyobject (&value, TRUE);
  g_value_unset (&value);
  py_cancellable = cancellable != NULL ? pygobject_new (G_OBJECT (cancellable)) : Py_NewRef (Py_None);
  if (py_input != NULL && py_cancellable != NULL)
    result = PyObject_CallFunctionObjArgs (do_call, py_input, py_cancellable, NULL);
  Py_XDECREF (py_input);
  Py_XDECREF (py_cancellable);

  g_value_init (&value, G_TYPE_VARIANT);
  if (result != NULL && pyg_value_from_pyobject (&value, result) == 0)
    output = g_value_dup_variant (&value);
  g_value_unset (&value);
  Py_XDECREF (result);

  /* The override's guard turns every exception into a GLib.Error. */
  if (output == NULL && !pyg_gerror_exception_check (error))
    g_propagate_error (error, tw_py_error_from_exception (0));
  return output;
}

static GVariant *
fast_call (TwWorker      *worker,
           GVariant      *input,
           GCancellable  *cancellable,
           GError       **error)
{
  TwPyWorkerState *state = g_object_get_qdata (G_OBJECT (worker), state_quark);
  GVariant *output;
  guint64 key = 0;

  if (state == NULL)
    return class_funcs (G_OBJECT_TYPE (worker))->call (worker, input, cancellable, error);

  PyEval_RestoreThread (state->thread_state);
  tw_py_drain_pending ();
  tw_py_set_current_cancellable (cancellable);

  if (state->raw)
    output = call_raw (state->method, input, cancellable, error);
  else if ((output = tw_py_thread_call (state->method, input, &key)) == NULL)
    g_propagate_error (error, tw_py_error_from_exception (key));

  tw_py_set_current_cancellable (NULL);
  state->thread_state = PyEval_SaveThread ();
  return output;
}

static void
fast_teardown (TwWorker *worker)
{
  const TwPyClassFuncs *funcs = class_funcs (G_OBJECT_TYPE (worker));
  TwPyWorkerState *state = g_object_steal_qdata (G_OBJECT (worker), state_quark);

  if (state == NULL)
    {
      if (funcs->teardown != NULL)
        funcs->teardown (worker);
      return;
    }

  PyEval_RestoreThread (state->thread_state);
  Py_CLEAR (state->method);
  if (funcs->teardown != NULL)
    funcs->teardown (worker);
  /* The last inputs that this thread dropped. */
  tw_py_drain_pending ();
  PyGILState_Release (state->gil_state);
  g_free (state);
}

/* Takes the class's function, or the one a patched parent had if the
 * class inherited it from there. */
#define OWN_FUNC(klass, name, type) \
  ((klass)->name != fast_##name ? (klass)->name : class_funcs (g_type_parent (type))->name)

/* Gives @type, a Python Tw.Worker subclass whose do_call() is the
 * override's work() runner or, if @raw, its guard of the class's own
 * do_call(), the functions above; called with the GIL held, once per
 * class. A worker that set up with the class's own setup
 * is torn down with its own teardown, and its tasks take its own call:
 * a troupe that runs already is not disturbed. */
gboolean
tw_py_patch_worker_class (GType    type,
                          gboolean raw)
{
  TwWorkerClass *klass;
  TwPyClassFuncs *funcs;

  if (funcs_quark == 0)
    {
      funcs_quark = g_quark_from_static_string ("tw-python-class-funcs");
      state_quark = g_quark_from_static_string ("tw-python-worker-state");
    }
  if (!g_type_is_a (type, TW_TYPE_WORKER) || type == TW_TYPE_WORKER)
    return FALSE;
  if (g_type_get_qdata (type, funcs_quark) != NULL)
    return TRUE;

  /* Kept for good, like the class. */
  klass = g_type_class_ref (type);
  funcs = g_new (TwPyClassFuncs, 1);
  funcs->raw = raw;
  funcs->setup = OWN_FUNC (klass, setup, type);
  funcs->call = OWN_FUNC (klass, call, type);
  funcs->teardown = OWN_FUNC (klass, teardown, type);
  g_type_set_qdata (type, funcs_quark, funcs);

  g_atomic_pointer_set (&klass->setup, fast_setup);
  g_atomic_pointer_set (&klass->call, fast_call);
  g_atomic_pointer_set (&klass->teardown, fast_teardown);
  return TRUE;
}
