/* tw-worker.c
 *
 * Copyright 2026 The tiny-worker developers
 *
 * This library is free software; you can redistribute it and/or modify it
 * under the terms of the GNU Lesser General Public License as published by
 * the Free Software Foundation; either version 2.1 of the License, or (at
 * your option) any later version.
 *
 * This library is distributed in the hope that it will be useful, but
 * WITHOUT ANY WARRANTY; without even the implied warranty of MERCHANTABILITY
 * or FITNESS FOR A PARTICULAR PURPOSE. See the GNU Lesser General Public
 * License for more details.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "tw-error.h"
#include "tw-worker-private.h"

/**
 * SECTION:tw-worker
 * @title: TwWorker
 * @short_description: A worker with its own resources, one per thread or process
 *
 * #TwWorker is the base class of workers that need state: a connection, a
 * model, a cache. A troupe made with tw_troupe_new_for_worker() creates
 * one instance per worker thread (or process), in that thread, from the
 * construct properties given to the troupe, calls #TwWorkerClass.setup
 * once, then #TwWorkerClass.call for every task that worker takes, and
 * #TwWorkerClass.teardown when the troupe shuts down. An instance is
 * never shared between threads, so its fields need no locking.
 *
 * |[<!-- language="C" -->
 * struct _MyWorker { TwWorker parent_instance; char *foo; char *connection; };
 *
 * static gboolean
 * my_worker_setup (TwWorker *worker, GCancellable *cancellable, GError **error)
 * {
 *   MyWorker *self = MY_WORKER (worker);
 *
 *   self->connection = g_strdup (self->foo);  // connect once
 *   return TRUE;
 * }
 *
 * static GVariant *
 * my_worker_call (TwWorker *worker, GVariant *input, GCancellable *cancellable, GError **error)
 * {
 *   MyWorker *self = MY_WORKER (worker);
 *
 *   return g_variant_new_take_string (g_strdup_printf ("%s:%d", self->connection,
 *                                                      g_variant_get_int32 (input)));
 * }
 * ]|
 */

G_DEFINE_ABSTRACT_TYPE (TwWorker, tw_worker, G_TYPE_OBJECT)

static GPrivate progress_sink;  /* TwProgressSink of the task this thread runs */

static gboolean
tw_worker_real_setup (TwWorker      *self,
                      GCancellable  *cancellable,
                      GError       **error)
{
  return TRUE;
}

static void
tw_worker_real_teardown (TwWorker *self)
{
}

static void
tw_worker_class_init (TwWorkerClass *klass)
{
  klass->setup = tw_worker_real_setup;
  klass->teardown = tw_worker_real_teardown;
}

static void
tw_worker_init (TwWorker *self)
{
}

/**
 * tw_worker_setup:
 * @self: a #TwWorker
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Calls the #TwWorkerClass.setup virtual method. Troupes call it; call it
 * yourself only to use a worker directly.
 *
 * Returns: %TRUE if the worker is ready, %FALSE with @error set otherwise
 *
 * Since: 1.0
 */
gboolean
tw_worker_setup (TwWorker      *self,
                 GCancellable  *cancellable,
                 GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  gboolean ret;

  g_return_val_if_fail (TW_IS_WORKER (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  ret = TW_WORKER_GET_CLASS (self)->setup (self, cancellable, &local_error);

  if (!ret && local_error == NULL)
    {
      g_set_error (error, TW_ERROR, TW_ERROR_INVALID_RESULT,
                   "%s.setup() failed without setting an error",
                   G_OBJECT_TYPE_NAME (self));
      return FALSE;
    }

  if (ret && local_error != NULL)
    g_warning ("%s.setup() succeeded but also set an error: %s",
               G_OBJECT_TYPE_NAME (self), local_error->message);
  else if (!ret)
    g_propagate_error (error, g_steal_pointer (&local_error));

  return ret;
}

/**
 * tw_worker_call:
 * @self: a #TwWorker
 * @input: the input value
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Calls the #TwWorkerClass.call virtual method, and checks that it keeps
 * its contract: a worker that returns %NULL without an error, or a value
 * together with an error, fails with %TW_ERROR_INVALID_RESULT.
 *
 * Returns: (transfer full): the output value, or %NULL with @error set
 *
 * Since: 1.0
 */
GVariant *
tw_worker_call (TwWorker      *self,
                GVariant      *input,
                GCancellable  *cancellable,
                GError       **error)
{
  TwWorkerClass *klass;
  GError *local_error = NULL;
  GVariant *result;

  g_return_val_if_fail (TW_IS_WORKER (self), NULL);
  g_return_val_if_fail (input != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  klass = TW_WORKER_GET_CLASS (self);
  if (klass->call == NULL)
    {
      g_set_error (error, TW_ERROR, TW_ERROR_INVALID_RESULT,
                   "%s does not override TwWorker.call()",
                   G_OBJECT_TYPE_NAME (self));
      return NULL;
    }

  result = klass->call (self, input, cancellable, &local_error);

  return tw_check_result (result, local_error, G_OBJECT_TYPE_NAME (self), error);
}

/**
 * tw_worker_teardown:
 * @self: a #TwWorker
 *
 * Calls the #TwWorkerClass.teardown virtual method.
 *
 * Since: 1.0
 */
void
tw_worker_teardown (TwWorker *self)
{
  g_return_if_fail (TW_IS_WORKER (self));

  TW_WORKER_GET_CLASS (self)->teardown (self);
}

/**
 * tw_report_progress:
 * @fraction: how far the task has come, from 0 to 1
 * @message: (nullable): what it is doing, or %NULL
 *
 * Reports the progress of the task that the calling worker is running:
 * call it from #TwWorkerClass.call or a #TwFunc, in either mode. The
 * task's #TwFuture shows it as #TwFuture:progress and
 * #TwFuture:progress-message, notified in the future's main context.
 * Called anywhere else, it does nothing.
 *
 * Since: 1.0
 */
void
tw_report_progress (gdouble     fraction,
                    const char *message)
{
  TwProgressSink *sink = g_private_get (&progress_sink);

  if (sink != NULL)
    sink->func (fraction, message, sink->data);
}

/* Sends this thread's tw_report_progress() calls to @sink, or nowhere
 * when it is %NULL. Runners set it around each task. */
void
tw_worker_set_progress_sink (TwProgressSink *sink)
{
  g_private_set (&progress_sink, sink);
}

/*
 * tw_check_result:
 * @result: (transfer full) (nullable): what a worker returned
 * @local_error: (transfer full) (nullable): the error it set
 * @who: names the worker in messages
 *
 * Enforces the contract of a worker call: exactly one of a value and an
 * error. Bindings produce the other two cases: PyGObject turns a Python
 * exception other than GLib.Error into NULL without an error.
 *
 * Returns: (transfer full): the value, or %NULL with @error set
 */
GVariant *
tw_check_result (GVariant    *result,
                 GError      *local_error,
                 const char  *who,
                 GError     **error)
{
  if (result != NULL)
    result = g_variant_take_ref (result);

  if (result != NULL && local_error == NULL)
    return result;

  if (result == NULL && local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return NULL;
    }

  /* Bindings do this when they cannot run the code at all: GJS runs no
   * JavaScript off its main thread. */
  if (result == NULL)
    g_set_error (error, TW_ERROR, TW_ERROR_INVALID_RESULT,
                 "%s returned NULL without setting an error (a function written in "
                 "JavaScript cannot run on a worker thread: use TW_TROUPE_MODE_PROCESS)", who);
  else
    g_set_error (error, TW_ERROR, TW_ERROR_INVALID_RESULT,
                 "%s returned a value and also set an error: %s",
                 who, local_error->message);

  g_clear_pointer (&result, g_variant_unref);
  g_clear_error (&local_error);

  return NULL;
}
