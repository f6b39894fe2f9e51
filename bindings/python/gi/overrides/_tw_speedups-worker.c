/* _tw_speedups-worker.c: TwPyCallWorker, a C worker that runs a Python callable
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

#include "_tw_speedups.h"

struct _TwPyCallWorker
{
  TwWorker parent_instance;

  char             *target;   /* construct-only: the callable, for tw_py_hooks.setup */

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
 * as tw_py_hooks.error makes it: it keeps an exception of a task passed by
 * reference under the key of the task's input frame, @key (0: none),
 * which the future of submit() owns if it is a TASK_KEY. */
GError *
tw_py_error_from_exception (guint64 key)
{
  PyObject *type, *exc, *tb, *py_key, *parts = NULL;
  const char *domain, *message;
  GError *result = NULL;
  gboolean owned;
  int code;

  PyErr_Fetch (&type, &exc, &tb);
  PyErr_NormalizeException (&type, &exc, &tb);
  if (tb != NULL)
    PyException_SetTraceback (exc, tb);
  Py_XDECREF (type);
  Py_XDECREF (tb);

  owned = TW_PY_IS_TASK_KEY (key);
  py_key = PyLong_FromUnsignedLongLong (key);
  if (py_key != NULL && (!owned || PySet_Add (tw_py_hooks.failed_keys, py_key) == 0))
    parts = PyObject_CallFunctionObjArgs (tw_py_hooks.error, py_key, exc,
                                          owned ? Py_True : Py_False, NULL);
  if (parts != NULL && PyArg_ParseTuple (parts, "sis", &domain, &code, &message))
    result = g_error_new_literal (g_quark_from_string (domain), code, message);
  if (result == NULL)
    {
      PyErr_WriteUnraisable (tw_py_hooks.error);
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

  if (tw_py_ref_frame_key (input, key, chunk))
    return tw_py_lookup_key (*key);

  pair = PyObject_CallFunction (tw_py_hooks.input, "sy#", g_variant_get_type_string (input),
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

  output = PyObject_CallFunction (tw_py_hooks.process, "Osy#", self->func,
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

/* A task in this process, run by @func: its value passed by reference,
 * and back. Sets *@key to the key of the input frame, if it has one. */
GVariant *
tw_py_thread_call (PyObject *func,
                   GVariant *input,
                   guint64  *key)
{
  GVariant *output = NULL;
  PyObject *value, *result = NULL;
  gboolean chunk = FALSE;

  value = input_value (input, key, &chunk);
  if (value != NULL)
    result = call_func (func, value, chunk);
  if (result != NULL)
    output = tw_py_ref_frame_new (result, FALSE, NULL);
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
  tw_py_drain_pending ();
  g_private_set (&current_cancellable, cancellable);

  if (self->in_worker_process)
    output = process_call (self, input);
  else
    output = tw_py_thread_call (self->func, input, &key);
  if (output == NULL)
    g_propagate_error (error, tw_py_error_from_exception (key));

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
  PyObject *setup, *func;
  int in_worker_process;

  /* This thread's state, kept until teardown so that a task does not
   * make one. */
  self->gil_state = PyGILState_Ensure ();
  setup = PyObject_CallFunction (tw_py_hooks.setup, "s", self->target ? self->target : "");
  if (setup != NULL && PyArg_ParseTuple (setup, "Op", &func, &in_worker_process))
    {
      self->func = Py_NewRef (func);
      self->in_worker_process = in_worker_process;
    }
  Py_XDECREF (setup);
  if (self->func == NULL)
    {
      g_propagate_error (error, tw_py_error_from_exception (0));
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
  tw_py_drain_pending ();
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

/* The GCancellable of the task that this thread runs, or NULL. */
GCancellable *
tw_py_call_worker_current_cancellable (void)
{
  return g_private_get (&current_cancellable);
}

/* Sets it, around a task run by another worker of this module. */
void
tw_py_set_current_cancellable (GCancellable *cancellable)
{
  g_private_set (&current_cancellable, cancellable);
}
