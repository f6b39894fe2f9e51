/* tw-future-wait.c
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
#include "tw-waiter-private.h"

/*
 * Waiting for a #TwFuture: blocking, with a timeout, or from a main loop.
 * The future's state, outcome and lock are in tw-future.c, which answers
 * the waits as it settles.
 */

/* Returns a new reference, or NULL with @error set. Only once settled,
 * and then with or without the lock: the outcome never changes once
 * settled, and it was written before the state was. */
static GVariant *
tw_future_dup_outcome (TwFuture  *self,
                       GError   **error)
{
  TwFutureState state = tw_future_load_state (self);

  g_assert (tw_future_state_is_settled (state));

  if (state == TW_FUTURE_STATE_SUCCEEDED)
    return g_variant_ref (self->outcome.value);

  if (error != NULL)
    *error = g_error_copy (self->outcome.error);

  return NULL;
}

static gboolean
tw_future_is_settled_locked (gpointer data)
{
  TwFuture *self = data;

  return tw_future_state_is_settled (self->state);
}

static gboolean
tw_future_is_settled_atomic (gpointer data)
{
  return tw_future_state_is_settled (tw_future_load_state (data));
}

/**
 * tw_future_wait:
 * @self: a #TwFuture
 * @timeout_usec: how long to wait at most, in microseconds, or -1 to wait
 *   until the task settles
 * @error: return location for a #GError
 *
 * Blocks the calling thread until the task settles, or until
 * @timeout_usec microseconds have passed. A wait that times out fails
 * with %G_IO_ERROR_TIMED_OUT and leaves the task alone: wait again later.
 *
 * This does not iterate any main context, so do not call it from a
 * thread whose main loop must keep running; use tw_future_wait_async()
 * there.
 *
 * Returns: (transfer full): the task's output, or %NULL with @error set
 *   to the task's error (a copy with the same domain, code and message),
 *   or to %G_IO_ERROR_TIMED_OUT
 *
 * Since: 1.0
 */
GVariant *
tw_future_wait (TwFuture  *self,
                gint64     timeout_usec,
                GError   **error)
{
  GVariant *ret = NULL;

  g_return_val_if_fail (TW_IS_FUTURE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* A task that ends within microseconds is not worth a sleep. */
  if (tw_spin_until (tw_future_is_settled_atomic, self,
                     timeout_usec < 0 ? TW_SPIN_USEC : MIN (timeout_usec, TW_SPIN_USEC)))
    return tw_future_dup_outcome (self, error);

  g_mutex_lock (&self->lock);

  if (tw_wait_blocking (&tw_future_ensure_extra (self)->cond, &self->lock, &self->n_blocked,
                        tw_future_is_settled_locked, self, timeout_usec,
                        "The task did not finish", error))
    ret = tw_future_dup_outcome (self, error);

  g_mutex_unlock (&self->lock);

  return ret;
}

void
tw_future_return_task (TwFuture *self,
                       GTask    *task)
{
  GError *error = NULL;
  GVariant *value = tw_future_dup_outcome (self, &error);

  if (value != NULL)
    g_task_return_pointer (task, value, (GDestroyNotify)g_variant_unref);
  else
    g_task_return_error (task, error);
}

/* The wait is abandoned, not the task. */
static void
tw_future_remove_waiter (TwWaiter *waiter,
                         gpointer  owner)
{
  TwFuture *self = owner;

  self->extra->waiters = g_slist_remove (self->extra->waiters, waiter);
}

/**
 * tw_future_wait_async:
 * @self: a #TwFuture
 * @cancellable: (nullable): a #GCancellable to abandon the wait
 * @callback: (scope async) (nullable): called when the task settles
 * @user_data: (closure): data for @callback
 *
 * Waits for the task to settle without blocking. @callback runs in the
 * thread-default #GMainContext of the calling thread; call
 * tw_future_wait_finish() from it to get the outcome.
 *
 * Cancelling @cancellable abandons this wait only (it fails with
 * %G_IO_ERROR_CANCELLED); to cancel the task itself, use
 * tw_future_cancel().
 *
 * Since: 1.0
 */
void
tw_future_wait_async (TwFuture            *self,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  TwWaiter *waiter;
  gboolean settled;

  g_return_if_fail (TW_IS_FUTURE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tw_future_wait_async);
  g_task_set_name (task, "[tw] wait for future");

  waiter = tw_waiter_new (task, &self->lock, tw_future_remove_waiter, self,
                          "The wait was cancelled");

  g_mutex_lock (&self->lock);
  settled = tw_future_state_is_settled (self->state);
  if (!settled)
    {
      TwFutureExtra *extra = tw_future_ensure_extra (self);

      extra->waiters = g_slist_prepend (extra->waiters, tw_waiter_ref (waiter));
    }
  g_mutex_unlock (&self->lock);

  if (settled)
    tw_future_return_task (self, task);
  else
    tw_waiter_watch_cancellable (waiter);

  tw_waiter_unref (waiter);
}

/**
 * tw_future_wait_finish:
 * @self: a #TwFuture
 * @result: the #GAsyncResult given to the callback of
 *   tw_future_wait_async()
 * @error: return location for a #GError
 *
 * Completes tw_future_wait_async().
 *
 * Returns: (transfer full): the task's output, or %NULL with @error set to
 *   the task's error, or to %G_IO_ERROR_CANCELLED if the wait was cancelled
 *
 * Since: 1.0
 */
GVariant *
tw_future_wait_finish (TwFuture      *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  g_return_val_if_fail (TW_IS_FUTURE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == tw_future_wait_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
