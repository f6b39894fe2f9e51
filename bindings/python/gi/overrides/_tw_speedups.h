/* _tw_speedups.h: what the files of the Tw override's C extension share
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

#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <tiny-worker.h>

G_BEGIN_DECLS

/* The override's objects, set once by configure() and kept for good. */
typedef struct
{
  PyObject *objects;        /* _tw_values._objects: key -> value */
  PyObject *setup;          /* (target) -> (callable, in a worker process) */
  PyObject *input;          /* (type string, bytes) -> (value, is chunk) */
  PyObject *process;        /* (callable, type string, bytes) -> (type string, bytes) */
  PyObject *error;          /* (key, exception, owned) -> (domain, code, message) */
  PyObject *forget;         /* (key) -> None, once a failed task's future is gone */
  PyObject *variant_class;  /* GLib.Variant, which submit() leaves to Python */
  PyObject *failed_keys;    /* task keys passed to error, until forgotten */
  PyObject *in_worker_process;  /* () -> whether this is a worker process */
} TwPyHooks;

extern TwPyHooks tw_py_hooks;

/* Keys made here, apart from those that _tw_values.py counts from 1; the
 * inputs of submit() also have TASK_KEY, as their futures forget them. */
#define TW_PY_KEY_BASE (G_GUINT64_CONSTANT (1) << 62)
#define TW_PY_TASK_KEY (G_GUINT64_CONSTANT (1) << 61)
#define TW_PY_IS_TASK_KEY(key) \
  (((key) & (TW_PY_KEY_BASE | TW_PY_TASK_KEY)) == (TW_PY_KEY_BASE | TW_PY_TASK_KEY))

/* What a key names. */
typedef enum
{
  TW_PY_KEY_OBJECT,        /* a value in the object table */
  TW_PY_KEY_TASK,          /* a task of submit(), whose exception may be kept */
  TW_PY_KEY_OWNED_TASK,    /* a task whose future owns its exception */
} TwPyKeyKind;

/* A key to drop once a thread holds the GIL. */
typedef struct _TwPyPending TwPyPending;
struct _TwPyPending
{
  TwPyPending *next;
  guint64      key;
  TwPyKeyKind  kind;
};

void      tw_py_drain_pending   (void);
void      tw_py_release_pending (gpointer  pending);
GVariant *tw_py_ref_frame_new   (PyObject *value,
                                 gboolean  task,
                                 guint64  *key_out);
gboolean  tw_py_ref_frame_key   (GVariant *variant,
                                 guint64  *key,
                                 gboolean *chunk);
PyObject *tw_py_lookup_key      (guint64   key);

#define TW_PY_TYPE_CALL_WORKER (tw_py_call_worker_get_type ())
G_DECLARE_FINAL_TYPE (TwPyCallWorker, tw_py_call_worker, TW_PY, CALL_WORKER, TwWorker)

GCancellable *tw_py_call_worker_current_cancellable (void);
void          tw_py_set_current_cancellable         (GCancellable *cancellable);
GError       *tw_py_error_from_exception            (guint64       key);
GVariant     *tw_py_thread_call                     (PyObject     *func,
                                                     GVariant     *input,
                                                     guint64      *key);

gboolean      tw_py_patch_worker_class              (GType         type,
                                                     gboolean      raw);

G_END_DECLS
