/* tw-troupe-submit.c
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

#include "tw-future-private.h"
#include "tw-pool-private.h"
#include "tw-troupe-private.h"

/*
 * Submitting to a troupe: each entry point starts the workers if needed
 * (tw_troupe_ensure_pool()) and queues on the pool, on the caller's
 * thread.
 */

/**
 * tw_troupe_submit:
 * @self: a #TwTroupe
 * @input: the task's input; a floating reference is sunk
 *
 * Queues a task that runs the troupe's worker on @input. The first submit
 * starts the workers. When #TwTroupe:max-queued tasks are already
 * waiting, it blocks until a worker takes one.
 *
 * Returns: (transfer full): the task's #TwFuture. It has already failed
 *   with %TW_ERROR_SHUT_DOWN if the troupe was shut down, or with the
 *   configuration error if the troupe cannot run tasks (for example
 *   %TW_ERROR_WORKER_SETUP or %TW_ERROR_UNKNOWN_FUNC).
 *
 * Since: 1.0
 */
TwFuture *
tw_troupe_submit (TwTroupe *self,
                  GVariant *input)
{
  TwPool *pool;
  GError *error = NULL;

  tw_return_error_if_fail (TW_IS_TROUPE (self));
  tw_return_error_if_fail (input != NULL);

  g_variant_ref_sink (input);

  pool = tw_troupe_ensure_pool (self, &error);
  if (pool == NULL)
    {
      g_variant_unref (input);
      return tw_future_new_for_error (error);
    }

  return tw_pool_submit (pool, input, FALSE);
}

/**
 * tw_troupe_submit_async:
 * @self: a #TwTroupe
 * @input: the task's input; a floating reference is sunk
 * @cancellable: (nullable): a #GCancellable to give up waiting for room
 * @callback: (scope async) (nullable): called once the task is queued
 * @user_data: (closure): data for @callback
 *
 * Queues a task like tw_troupe_submit(), but when #TwTroupe:max-queued
 * tasks are already waiting, it waits for room without blocking: the
 * task is queued, and @callback called in the thread-default main
 * context of the caller, once a worker has taken another task. Submits
 * that wait are queued in order.
 *
 * Since: 1.0
 */
void
tw_troupe_submit_async (TwTroupe            *self,
                        GVariant            *input,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  TwPool *pool;
  GError *error = NULL;

  g_return_if_fail (TW_IS_TROUPE (self));
  g_return_if_fail (input != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tw_troupe_submit_async);
  g_task_set_name (task, "[tw] submit");
  g_variant_ref_sink (input);

  pool = tw_troupe_ensure_pool (self, &error);
  if (pool == NULL)
    {
      g_variant_unref (input);
      g_task_return_pointer (task, tw_future_new_for_error (error), g_object_unref);
      return;
    }

  tw_pool_submit_async (pool, input, task);
}

/**
 * tw_troupe_submit_finish:
 * @self: a #TwTroupe
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Completes tw_troupe_submit_async().
 *
 * Returns: (transfer full): the task's #TwFuture, which may have failed
 *   at once as tw_troupe_submit() describes, or %NULL with @error set to
 *   %G_IO_ERROR_CANCELLED if the wait for room was cancelled (the task
 *   was then not queued)
 *
 * Since: 1.0
 */
TwFuture *
tw_troupe_submit_finish (TwTroupe      *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (TW_IS_TROUPE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == tw_troupe_submit_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * tw_troupe_submit_future:
 * @self: a #TwTroupe
 * @input: the future whose value is the task's input
 *
 * Chains a task to @input, lazily: nothing is queued and no thread waits
 * while @input is pending. When @input succeeds, its value is queued on
 * this troupe; when it fails or is cancelled, the new task fails with the
 * same error and no worker is called. @input may belong to any troupe,
 * this one included, and be chained any number of times.
 *
 * Returns: (transfer full): the new task's #TwFuture, failed at once as
 *   tw_troupe_submit() describes if no task can run
 *
 * Since: 1.0
 */
TwFuture *
tw_troupe_submit_future (TwTroupe *self,
                         TwFuture *input)
{
  TwPool *pool;
  GError *error = NULL;

  tw_return_error_if_fail (TW_IS_TROUPE (self));
  tw_return_error_if_fail (TW_IS_FUTURE (input));

  pool = tw_troupe_ensure_pool (self, &error);
  if (pool == NULL)
    return tw_future_new_for_error (error);

  return tw_pool_submit_future (pool, input, FALSE);
}

