/* tw-pool-submit.c
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

#include "tw-pool-private.h"
#include "tw-waiter-private.h"

/*
 * How tasks get into a TwPool: a submit that blocks while the queue is
 * full, one that answers a GTask once there is room, and a submit chained
 * to an input future, which waits in the waiting list until the input
 * settles. tw-pool.c runs, counts and stops them; its locking rules hold
 * here.
 */

/* Whether the pool's workers can take @input: the runner may refuse it. */
static gboolean
tw_pool_accepts_input (TwPool    *self,
                       GVariant  *input,
                       GError   **error)
{
  return self->runner->check_input == NULL || self->runner->check_input (input, error);
}

/*
 * tw_pool_submit:
 * @input: (transfer full): the input
 * @chunk: whether @input is an array of inputs to run one by one
 *
 * Returns: (transfer full): the task's future
 */
TwFuture *
tw_pool_submit (TwPool   *self,
                GVariant *input,
                gboolean  chunk)
{
  TwPoolTask *task;
  TwFuture *future;
  GError *error = NULL;
  gboolean wake;

  if (!tw_pool_accepts_input (self, input, &error))
    {
      g_variant_unref (input);
      return tw_future_new_for_error (error);
    }

  future = tw_future_new ();
  tw_mutex_lock_polling (&self->lock);

  while (!self->closing && !tw_pool_has_room_locked (self))
    {
      self->n_blocked++;
      g_cond_wait (&self->space_cond, &self->lock);
      self->n_blocked--;
    }

  if (self->closing)
    {
      g_mutex_unlock (&self->lock);
      g_variant_unref (input);
      g_object_unref (future);
      return tw_pool_new_shut_down_future ();
    }

  task = tw_pool_new_task_locked (self, g_object_ref (future));
  task->chunk = chunk;
  wake = tw_pool_enqueue_locked (self, task, input);

  g_mutex_unlock (&self->lock);

  tw_pool_bump_wake_seq (self);
  if (wake)
    g_cond_signal (&self->work_cond);
  tw_notifier_schedule (self->notifier);

  return future;
}

static void
tw_pool_remove_blocked (TwWaiter *blocked,
                        gpointer  owner)
{
  TwPool *self = owner;

  g_queue_remove (&self->blocked_async, blocked);
}

/*
 * tw_pool_submit_async:
 * @input: (transfer full): the input
 * @task: returns the task's future once there is room in the queue
 */
void
tw_pool_submit_async (TwPool   *self,
                      GVariant *input,
                      GTask    *task)
{
  GQueue answered = G_QUEUE_INIT;
  TwWaiter *blocked;
  GError *error = NULL;
  gboolean admitted;

  if (!tw_pool_accepts_input (self, input, &error))
    {
      g_variant_unref (input);
      g_task_return_pointer (task, tw_future_new_for_error (error), g_object_unref);
      return;
    }

  /* The troupe, the task's source, keeps the pool alive. */
  blocked = tw_waiter_new (task, &self->lock, tw_pool_remove_blocked, self,
                           "The submit was cancelled before there was room");
  blocked->input = input;

  g_mutex_lock (&self->lock);
  g_queue_push_tail (&self->blocked_async, tw_waiter_ref (blocked));
  tw_pool_make_room_locked (self, &answered);
  admitted = answered.length > 0;
  g_mutex_unlock (&self->lock);

  tw_pool_answer_blocked (&answered);
  if (admitted)
    tw_notifier_schedule (self->notifier);

  /* Whether or not it got in: watching an answered waiter does nothing. */
  tw_waiter_watch_cancellable (blocked);
  tw_waiter_unref (blocked);
}

/* Sets the bound on queued tasks; a larger one lets waiting submits in. */
void
tw_pool_set_max_queued (TwPool *self,
                        guint   max_queued)
{
  GQueue answered = G_QUEUE_INIT;

  g_mutex_lock (&self->lock);
  self->max_queued = max_queued;
  tw_pool_make_room_locked (self, &answered);
  g_mutex_unlock (&self->lock);

  tw_pool_answer_blocked (&answered);
}

static void
tw_pool_input_settled_cb (TwFuture *input,
                          gpointer  user_data)
{
  TwPoolTask *task = user_data;
  TwPool *self = task->pool;
  GError *error = NULL;
  GVariant *value;
  gboolean removed, queued;
  gboolean wake = FALSE;

  value = tw_future_peek_value (input);
  if (value == NULL)
    error = tw_future_dup_error (input);
  else if (!tw_pool_accepts_input (self, value, &error))
    value = NULL;

  /* Not in the waiting list any more if it was cancelled meanwhile. */
  tw_mutex_lock_polling (&self->lock);
  removed = task->place == TW_POOL_TASK_WAITING && tw_pool_unlink_locked (self, task);
  queued = removed && value != NULL;
  if (queued)
    wake = tw_pool_enqueue_locked (self, task, g_variant_ref (value));
  g_mutex_unlock (&self->lock);

  if (queued)
    tw_pool_bump_wake_seq (self);
  if (wake)
    g_cond_signal (&self->work_cond);

  if (removed && value == NULL)
    {
      TwFuture *future = task->link.data;

      tw_future_settle (future, NULL, error);
      g_object_unref (future);
    }
  else
    g_clear_error (&error);

  tw_notifier_schedule (self->notifier);
  tw_pool_task_unref (task);
}

/*
 * tw_pool_submit_future:
 *
 * Chains a task to @input: it waits in the waiting list, holding no
 * thread, until @input settles, and is then queued with its value, or
 * fails with its error.
 *
 * Returns: (transfer full): the task's future
 */
TwFuture *
tw_pool_submit_future (TwPool   *self,
                       TwFuture *input,
                       gboolean  chunk)
{
  TwPoolTask *task;
  TwFuture *future = tw_future_new ();

  tw_mutex_lock_polling (&self->lock);

  if (self->closing)
    {
      g_mutex_unlock (&self->lock);
      g_object_unref (future);
      return tw_pool_new_shut_down_future ();
    }

  task = tw_pool_new_task_locked (self, g_object_ref (future));  /* the waiting list's */
  task->place = TW_POOL_TASK_WAITING;
  task->chunk = chunk;
  g_queue_push_tail_link (&self->waiting, &task->link);
  g_atomic_ref_count_inc (&task->ref_count);  /* the input's callback's */

  g_mutex_unlock (&self->lock);

  tw_future_add_dependent (input, tw_pool_input_settled_cb, task);

  return future;
}
