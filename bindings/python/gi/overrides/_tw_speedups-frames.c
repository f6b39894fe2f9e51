/* _tw_speedups-frames.c: tw-python-ref frames made and read in C
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

/* A frame names its object by a key of the override's object table. The
 * GVariant may be freed in a thread without the GIL: its key then waits on
 * a lock-free list until a thread holding the GIL drops it, as do the keys
 * of futures whose exception the override may keep. */

#include "_tw_speedups.h"

#include <string.h>

TwPyHooks tw_py_hooks;

#define REF_TAG "tw-python-ref"
#define REF_CHUNK_TAG "tw-python-ref-chunk"
#define KEY_BYTES 8

static guint64 key_serial;   /* under the GIL */

/* A tw-python-ref frame: the serialised (say) and the key it names. */
typedef struct
{
  TwPyPending pending;
  guint8      data[sizeof REF_TAG + KEY_BYTES + 1];
} TwPyFrame;

static TwPyPending *pending_head;   /* atomic: a stack of TwPyPending */

/* Drops @pending's key, which may run Python code (a value's __del__, the
 * forget hook): the caller may be unwinding an exception, which waits. */
static void
drop_key (TwPyPending *pending)
{
  PyObject *type, *value, *tb, *key;
  int discarded;

  /* Most tasks succeed: then their keys name nothing to drop. */
  if (pending->kind == TW_PY_KEY_TASK && PySet_GET_SIZE (tw_py_hooks.failed_keys) == 0)
    return;

  PyErr_Fetch (&type, &value, &tb);
  key = PyLong_FromUnsignedLongLong (pending->key);
  if (key != NULL && pending->kind == TW_PY_KEY_OBJECT)
    {
      if (PyDict_DelItem (tw_py_hooks.objects, key) < 0)
        PyErr_Clear ();
    }
  else if (key != NULL)
    {
      discarded = PySet_Discard (tw_py_hooks.failed_keys, key);
      if (discarded == 1 || pending->kind == TW_PY_KEY_OWNED_TASK)
        Py_XDECREF (PyObject_CallOneArg (tw_py_hooks.forget, key));
    }
  if (PyErr_Occurred ())
    PyErr_WriteUnraisable (tw_py_hooks.forget);
  Py_XDECREF (key);
  PyErr_Restore (type, value, tb);
}

/* Drops the keys of the GVariants and futures freed without the GIL.
 * Called with the GIL held. */
void
tw_py_drain_pending (void)
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
void
tw_py_release_pending (gpointer data)
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
GVariant *
tw_py_ref_frame_new (PyObject *value,
                     gboolean  task,
                     guint64  *key_out)
{
  guint64 key = TW_PY_KEY_BASE | (task ? TW_PY_TASK_KEY : 0) | key_serial++;
  TwPyFrame *frame;
  PyObject *py_key;
  guint64 key_le;

  py_key = PyLong_FromUnsignedLongLong (key);
  if (py_key == NULL || PyDict_SetItem (tw_py_hooks.objects, py_key, value) < 0)
    {
      Py_XDECREF (py_key);
      return NULL;
    }
  Py_DECREF (py_key);

  frame = g_new (TwPyFrame, 1);
  frame->pending.key = key;
  frame->pending.kind = TW_PY_KEY_OBJECT;
  key_le = GUINT64_TO_LE (key);
  memcpy (frame->data, REF_TAG, sizeof REF_TAG);
  memcpy (frame->data + sizeof REF_TAG, &key_le, KEY_BYTES);
  frame->data[sizeof frame->data - 1] = sizeof REF_TAG;   /* the string's end */
  if (key_out != NULL)
    *key_out = key;

  return g_variant_new_from_data (G_VARIANT_TYPE ("(say)"), frame->data, sizeof frame->data,
                                  TRUE, tw_py_release_pending, frame);
}

/* The key of a tw-python-ref (or, if @chunk is not NULL, -ref-chunk) frame,
 * or FALSE for any other value. */
gboolean
tw_py_ref_frame_key (GVariant *variant,
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
PyObject *
tw_py_lookup_key (guint64 key)
{
  PyObject *py_key = PyLong_FromUnsignedLongLong (key);
  PyObject *value;

  if (py_key == NULL)
    return NULL;
  value = PyDict_GetItemWithError (tw_py_hooks.objects, py_key);
  Py_DECREF (py_key);
  if (value == NULL && !PyErr_Occurred ())
    PyErr_SetString (PyExc_TypeError,
                     "a value passed by reference outlived its GVariant");
  Py_XINCREF (value);
  return value;
}
