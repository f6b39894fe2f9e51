/* tw-pool.c
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

#include <string.h>

#include "tw-error.h"
#include "tw-future-private.h"
#include "tw-notifier-private.h"
#include "tw-pool-private.h"
#include "tw-waiter-private.h"
#include "tw-watchdog-private.h"

/*
 * TwPool is the running part of a #TwTroupe: its threads, its queue and
 * its counters. It is a plain refcounted struct, not the GObject, so that
 * futures and threads can keep it alive without keeping the troupe alive:
 * the troupe is disposed only by its users, and its dispose drains and
 * joins the threads.
 *
 * The troupe owns its threads rather than using a GThreadPool: each
 * thread owns one worker for its whole life, sets it up first and tears
 * it down last, and is joined at shutdown. GThreadPool hands the threads
 * of a freed pool to a global pool, where per-thread workers would
 * outlive the troupe, and it cannot remove one queued task.
 *
 * A runner (tw-thread-runner.c, tw-process-runner.c) decides how each
 * thread runs the tasks it pops; the pool only queues, counts and stops.
 * tw-pool-submit.c lets tasks in; this file runs, counts and stops them.
 * Each task has a TwPoolTask record, the owner of its future (see
 * TwFutureOwnerFuncs), which holds its place in a queue.
 *
 * Locking: a future's lock may be held while the pool's lock is taken
 * (by tw_future_cancel(), through the owner hooks), never the other way
 * round. Neither is held while user code runs: a GTask is answered, and
 * the runner's data freed, after the pool's lock is released.
 */

static GPrivate current_pool;

static gpointer
tw_pool_thread (gpointer data)
{
  g_autoptr(TwPool) self = data;

  g_private_set (&current_pool, self);
  self->runner->serve (self, self->data);
  g_private_set (&current_pool, NULL);

  return NULL;
}

TwPool *
tw_pool_new (const TwPoolRunner *runner,
             gpointer            data,
             GDestroyNotify      data_destroy,
             guint               n_workers,
             GMainContext       *context,
             GObject            *owner,
             TwPoolNotifyFunc    notify_func)
{
  TwPool *self;

  g_assert (runner != NULL && runner->serve != NULL);
  g_assert (n_workers > 0);

  self = g_new0 (TwPool, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->runner = runner;
  self->data = data;
  self->data_destroy = data_destroy;
  self->n_workers = n_workers;
  self->notifier = tw_notifier_new (context, owner, notify_func);
  g_mutex_init (&self->lock);
  g_cond_init (&self->work_cond);
  g_cond_init (&self->idle_cond);
  g_cond_init (&self->space_cond);
  self->stop = g_cancellable_new ();
  g_queue_init (&self->blocked_async);
  g_queue_init (&self->queue);
  g_queue_init (&self->waiting);
  self->threads = g_ptr_array_new_with_free_func ((GDestroyNotify)g_thread_unref);

  for (guint i = 0; i < n_workers; i++)
    {
      g_autofree char *name = g_strdup_printf ("tw-worker-%u", i);

      g_ptr_array_add (self->threads,
                       g_thread_new (name, tw_pool_thread, tw_pool_ref (self)));
    }

  return self;
}

/* Frees the runner's data, which only the threads use, once they are
 * gone: when they are joined, or with the pool if nobody joined them. */
static void
tw_pool_release_data (TwPool *self)
{
  GDestroyNotify destroy = g_steal_pointer (&self->data_destroy);

  if (destroy != NULL)
    destroy (g_steal_pointer (&self->data));
}

TwPool *
tw_pool_ref (TwPool *self)
{
  g_atomic_ref_count_inc (&self->ref_count);

  return self;
}

void
tw_pool_unref (TwPool *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_assert (self->queue.length == 0);
  g_assert (self->waiting.length == 0);

  for (guint i = 0; i < 2; i++)
    {
      gpointer *list = i == 0 ? &self->free_tasks : &self->taken_tasks;

      while (*list != NULL)
        {
          TwPoolTask *task = *list;

          *list = task->link.next;
          g_free (task);
        }
    }

  /* Unreffing a thread that was not joined detaches it. */
  g_clear_pointer (&self->threads, g_ptr_array_unref);
  /* Not joined if it was shut down from its own thread. */
  if (self->watchdog != NULL)
    tw_watchdog_stop (self->watchdog, FALSE);
  g_clear_pointer (&self->watchdog, tw_watchdog_unref);
  g_clear_object (&self->stop);
  tw_pool_release_data (self);
  tw_notifier_unref (self->notifier);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->work_cond);
  g_cond_clear (&self->idle_cond);
  g_cond_clear (&self->space_cond);
  g_free (self);
}

/* Called when the owner goes: nobody is left to notify. */
void
tw_pool_forget_owner (TwPool *self)
{
  tw_notifier_forget_owner (self->notifier);
}

/* Best called after releasing the lock: a polling thread that sees the
 * change takes the lock at once, and should not find it held. */
void
tw_pool_bump_wake_seq (TwPool *self)
{
  g_atomic_int_inc (&self->wake_seq);
}

/* Takes @input (owned) and a new reference on the task's future.
 * Returns whether an idle thread must be woken. The caller then bumps
 * wake_seq and, if so, signals work_cond, both best after releasing the
 * lock, which the thread that wakes would otherwise find taken. */
gboolean
tw_pool_enqueue_locked (TwPool     *self,
                        TwPoolTask *task,
                        GVariant   *input)
{
  task->input = input;
  task->place = TW_POOL_TASK_QUEUED;
  g_queue_push_tail_link (&self->queue, &task->link);

  /* While a woken or spinning thread has not taken its task yet, it is
   * the one that wakes the next (tw_pool_pop_task()): a burst of submits
   * then costs the submitting thread one wake-up at most, not one each. */
  if (self->n_woken > 0 || self->n_spinning > 0 || self->n_idle == 0)
    return FALSE;

  self->n_woken++;
  return TRUE;
}

/* After a thread took a task: whether to wake another idle one for the
 * tasks still queued that no woken thread will take. */
static gboolean
tw_pool_wake_next_locked (TwPool *self)
{
  if (self->queue.length <= self->n_woken + self->n_spinning ||
      self->n_idle <= self->n_woken)
    return FALSE;

  self->n_woken++;
  return TRUE;
}

gboolean
tw_pool_has_room_locked (TwPool *self)
{
  return self->max_queued == 0 || self->queue.length < self->max_queued;
}

void
tw_pool_task_unref (TwPoolTask *task)
{
  TwPool *self = task->pool;
  gpointer head;

  if (!g_atomic_ref_count_dec (&task->ref_count))
    return;

  g_assert (task->place == TW_POOL_TASK_OUT);
  g_clear_pointer (&task->input, g_variant_unref);

  do
    {
      head = g_atomic_pointer_get (&self->free_tasks);
      task->link.next = head;
    }
  while (!g_atomic_pointer_compare_and_exchange (&self->free_tasks, head, task));

  tw_pool_unref (self);
}

/* A freed record to reuse, or NULL. The freed ones are taken all at
 * once, so that the threads that free them and this one contend for
 * their list once per batch rather than once per task. */
static TwPoolTask *
tw_pool_take_free_task_locked (TwPool *self)
{
  TwPoolTask *task;

  if (self->taken_tasks == NULL)
    self->taken_tasks = g_atomic_pointer_exchange (&self->free_tasks, NULL);

  task = self->taken_tasks;
  if (task != NULL)
    self->taken_tasks = task->link.next;

  /* A pool thread freed it last: fetch the next one's cache line now
   * rather than stall on it at the next submit. */
  if (self->taken_tasks != NULL)
    __builtin_prefetch (self->taken_tasks, 1);

  return task;
}

static gboolean tw_pool_task_cancel_pending (TwFutureOwner *owner);
static void tw_pool_task_count (TwFutureOwner *owner, TwFutureState state);
static void tw_pool_task_settled (TwFutureOwner *owner);

static const TwFutureOwnerFuncs tw_pool_task_funcs = {
  .cancel_pending = tw_pool_task_cancel_pending,
  .count = tw_pool_task_count,
  .settled = tw_pool_task_settled,
};

/* A new task for @future (made before taking the lock, which it need
 * not cover), whose record the future owns; the caller's reference on
 * @future becomes the queue's. */
TwPoolTask *
tw_pool_new_task_locked (TwPool   *self,
                         TwFuture *future)
{
  TwPoolTask *task = tw_pool_take_free_task_locked (self);

  if (task == NULL)
    task = g_new (TwPoolTask, 1);
  memset (task, 0, sizeof *task);
  g_atomic_ref_count_init (&task->ref_count);
  task->pool = tw_pool_ref (self);
  task->owner.funcs = &tw_pool_task_funcs;
  task->link.data = future;
  tw_future_set_owner (future, &task->owner);
  g_atomic_int_inc (&self->outstanding);

  return task;
}

TwFuture *
tw_pool_new_shut_down_future (void)
{
  return tw_future_new_for_error (g_error_new_literal (TW_ERROR, TW_ERROR_SHUT_DOWN,
                                                       "The troupe has been shut down"));
}

/* Answers blocked async submits that got room or were shut out; each
 * takes the queue's reference along. */
void
tw_pool_answer_blocked (GQueue *answered)
{
  TwWaiter *blocked;

  while ((blocked = g_queue_pop_head (answered)) != NULL)
    {
      g_task_return_pointer (blocked->task, g_steal_pointer (&blocked->future), g_object_unref);
      tw_waiter_answered (blocked);
    }
}

/* Lets waiting submits in while there is room: async ones first, in
 * order, then a blocked thread. Shutting out, when closing, likewise. */
void
tw_pool_make_room_locked (TwPool *self,
                          GQueue *answered)
{
  TwWaiter *blocked;

  while ((self->closing || tw_pool_has_room_locked (self)) &&
         (blocked = g_queue_pop_head (&self->blocked_async)) != NULL)
    {
      blocked->done = TRUE;
      if (self->closing)
        blocked->future = tw_pool_new_shut_down_future ();
      else
        {
          TwPoolTask *task = tw_pool_new_task_locked (self, tw_future_new ());

          blocked->future = g_object_ref (task->link.data);
          if (tw_pool_enqueue_locked (self, task, g_steal_pointer (&blocked->input)))
            g_cond_signal (&self->work_cond);
          tw_pool_bump_wake_seq (self);
        }
      g_queue_push_tail (answered, blocked);
    }

  if (self->n_blocked > 0 && (self->closing || tw_pool_has_room_locked (self)))
    g_cond_broadcast (&self->space_cond);
}

/* Unlinks @task from whichever queue holds it, and says whether it did.
 * The caller then owns the queue's reference on its future. */
gboolean
tw_pool_unlink_locked (TwPool     *self,
                       TwPoolTask *task)
{
  if (task->place == TW_POOL_TASK_OUT)
    return FALSE;

  g_queue_unlink (task->place == TW_POOL_TASK_QUEUED ? &self->queue : &self->waiting,
                  &task->link);
  task->place = TW_POOL_TASK_OUT;
  g_clear_pointer (&task->input, g_variant_unref);

  return TRUE;
}

/* Owner hook: removes a task that has not started from the pool's queues.
 * Called with its future's lock held. */
static gboolean
tw_pool_task_cancel_pending (TwFutureOwner *owner)
{
  TwPoolTask *task = (TwPoolTask *)owner;
  TwPool *self = task->pool;
  gboolean removed;

  g_mutex_lock (&self->lock);
  removed = tw_pool_unlink_locked (self, task);
  task->unqueued = removed;
  g_mutex_unlock (&self->lock);

  return removed;
}

/* Owner hook: counts a task's outcome before any waiter can see it, so
 * the counters never lag the futures: a settled task no longer runs. */
static void
tw_pool_task_count (TwFutureOwner *owner,
                    TwFutureState  state)
{
  TwPoolTask *task = (TwPoolTask *)owner;
  TwPool *self = task->pool;

  /* Set under the pool's lock as it was popped, which happened before
   * the runner could settle it. */
  if (task->popped)
    g_atomic_int_add (&self->n_running, -1);
  if (state == TW_FUTURE_STATE_SUCCEEDED)
    g_atomic_int_inc (&self->n_succeeded);
  else if (state == TW_FUTURE_STATE_CANCELLED)
    g_atomic_int_inc (&self->n_cancelled);
  else
    g_atomic_int_inc (&self->n_failed);
}

/* Owner hook: called once per task, with no lock held, after it settled. */
static void
tw_pool_task_settled (TwFutureOwner *owner)
{
  TwPoolTask *task = (TwPoolTask *)owner;
  TwPool *self = task->pool;
  GQueue answered = G_QUEUE_INIT;

  /* A task cancelled in the queue leaves room for a waiting submit. */
  if (task->unqueued)
    {
      g_mutex_lock (&self->lock);
      if (self->max_queued > 0)
        tw_pool_make_room_locked (self, &answered);
      g_mutex_unlock (&self->lock);
      tw_pool_answer_blocked (&answered);
    }

  if (g_atomic_int_dec_and_test (&self->outstanding))
    {
      /* Under the lock, so that a shutdown that saw outstanding > 0 is
       * already waiting and gets the broadcast. */
      g_mutex_lock (&self->lock);
      if (self->closing)
        g_cond_broadcast (&self->idle_cond);

      /* Nobody will join the threads: let them go on their own. */
      if (self->closing && self->detached)
        {
          self->stopping = TRUE;
          tw_pool_bump_wake_seq (self);
          g_cond_broadcast (&self->work_cond);
          g_cancellable_cancel (self->stop);
          if (self->watchdog != NULL)
            tw_watchdog_stop (self->watchdog, FALSE);
        }
      g_mutex_unlock (&self->lock);
    }

  tw_notifier_schedule (self->notifier);
  tw_pool_task_unref (task);
}

void
tw_pool_get_counters (TwPool *self,
                      guint  *n_queued,
                      guint  *n_running,
                      guint  *n_succeeded,
                      guint  *n_failed,
                      guint  *n_cancelled)
{
  g_mutex_lock (&self->lock);
  *n_queued = self->queue.length;
  *n_running = g_atomic_int_get (&self->n_running);
  *n_succeeded = g_atomic_int_get (&self->n_succeeded);
  *n_failed = g_atomic_int_get (&self->n_failed);
  *n_cancelled = g_atomic_int_get (&self->n_cancelled);
  g_mutex_unlock (&self->lock);
}

/*
 * tw_pool_pop_task:
 * @take: (nullable): whether to take a task now, for a thread that has
 *   tasks in flight already; %NULL to wait for one
 * @item: (out): the task
 *
 * Takes the next task, waiting for one if @take is %NULL. Returns %FALSE
 * when the pool stops, or when @take refuses.
 */
gboolean
tw_pool_pop_task (TwPool         *self,
                  TwPoolTakeFunc  take,
                  TwPoolItem     *item)
{
  GQueue answered = G_QUEUE_INIT;
  TwPoolTask *task = NULL;
  gboolean wake = FALSE;

  tw_mutex_lock_polling (&self->lock);

  /* Polls a moment before it sleeps, one thread at a time, so that idle
   * threads do not keep the submitting one off the CPU. */
  if (take == NULL && self->queue.length == 0 && !self->stopping)
    tw_spin_for_change (&self->lock, &self->n_spinning, &self->wake_seq);

  while (take == NULL && self->queue.length == 0 && !self->stopping)
    {
      self->n_idle++;
      g_cond_wait (&self->work_cond, &self->lock);
      self->n_idle--;
      if (self->n_woken > 0)
        self->n_woken--;
    }

  if (self->queue.length > 0 &&
      (take == NULL ||
       take (&(TwPoolLoad) { self->queue.length, self->n_idle, self->n_workers })))
    task = TW_POOL_TASK_FROM_LINK (self->queue.head);

  if (task != NULL)
    {
      /* The queue's reference on the future goes to the runner. */
      g_queue_unlink (&self->queue, &task->link);
      task->place = TW_POOL_TASK_OUT;
      task->popped = TRUE;
      item->future = task->link.data;
      item->input = g_steal_pointer (&task->input);
      item->chunk = task->chunk;
      g_atomic_int_inc (&self->n_running);
      if (self->max_queued > 0)
        tw_pool_make_room_locked (self, &answered);
      wake = tw_pool_wake_next_locked (self);
    }

  g_mutex_unlock (&self->lock);

  if (wake)
    g_cond_signal (&self->work_cond);
  if (answered.length > 0)
    tw_pool_answer_blocked (&answered);
  if (task != NULL)
    tw_notifier_schedule (self->notifier);

  return task != NULL;
}

/*
 * tw_pool_set_limits:
 * @task_timeout: µs a task may run before it is cancelled, or 0
 * @max_retries: how many more times a failed task is run
 *
 * Called before the first task is queued.
 */
void
tw_pool_set_limits (TwPool *self,
                    gint64  task_timeout,
                    guint   max_retries)
{
  g_assert (self->watchdog == NULL);

  self->max_retries = max_retries;
  if (task_timeout > 0)
    self->watchdog = tw_watchdog_new (task_timeout);
}

/* Starts the timeout of a task that begins to run. */
void
tw_pool_watch (TwPool   *self,
               TwFuture *future)
{
  if (self->watchdog != NULL)
    tw_watchdog_watch (self->watchdog, future);
}

/* Whether a failed task gets another attempt: not when it was cancelled,
 * and at most max-retries times. */
gboolean
tw_pool_should_retry (TwPool       *self,
                      const GError *error,
                      guint         attempt)
{
  return attempt < self->max_retries &&
         !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* Cancelled when the pool's threads must stop, to cut short what a
 * worker does between tasks, such as starting a worker process. */
GCancellable *
tw_pool_get_stop_cancellable (TwPool *self)
{
  return self->stop;
}

/* Whether the pool was shut down with CANCEL_PENDING: a worker that
 * holds tasks that have not started must cancel them. */
gboolean
tw_pool_is_cancelling (TwPool *self)
{
  return g_atomic_int_get (&self->cancelling);
}

static void
tw_pool_cancel_queue (GQueue *queue)
{
  TwFuture *future;

  while ((future = g_queue_pop_head (queue)) != NULL)
    {
      tw_future_settle (future, NULL,
                        g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                             "The troupe was shut down before the task started"));
      g_object_unref (future);
    }
}

/* Moves every task that has not started into @doomed. */
static void
tw_pool_steal_pending_locked (TwPool *self,
                              GQueue *doomed)
{
  GQueue *queues[] = { &self->queue, &self->waiting };

  for (guint i = 0; i < G_N_ELEMENTS (queues); i++)
    {
      while (queues[i]->head != NULL)
        {
          TwPoolTask *task = TW_POOL_TASK_FROM_LINK (queues[i]->head);

          tw_pool_unlink_locked (self, task);
          g_queue_push_tail (doomed, task->link.data);
        }
    }
}

static void
tw_pool_join_threads (TwPool *self)
{
  g_autoptr(GPtrArray) threads = NULL;

  g_mutex_lock (&self->lock);

  while (g_atomic_int_get (&self->outstanding) > 0)
    g_cond_wait (&self->idle_cond, &self->lock);

  self->stopping = TRUE;
  tw_pool_bump_wake_seq (self);
  g_cond_broadcast (&self->work_cond);
  g_cancellable_cancel (self->stop);
  threads = g_steal_pointer (&self->threads);

  /* Another caller is joining them: wait for it. */
  while (threads == NULL && !self->stopped)
    g_cond_wait (&self->idle_cond, &self->lock);

  g_mutex_unlock (&self->lock);

  if (threads == NULL)
    return;

  for (guint i = 0; i < threads->len; i++)
    g_thread_join (g_ptr_array_steal_index_fast (threads, i--));

  /* Every task has settled: nothing is left to watch. */
  if (self->watchdog != NULL)
    tw_watchdog_stop (self->watchdog, TRUE);

  g_mutex_lock (&self->lock);
  self->stopped = TRUE;
  g_cond_broadcast (&self->idle_cond);
  g_mutex_unlock (&self->lock);

  /* Last: the runner's data may hold user data whose destroy notify drops
   * the last reference to the troupe, which shuts down again. */
  tw_pool_release_data (self);
}

/*
 * tw_pool_shutdown:
 *
 * Stops accepting tasks, cancels those that have not started if @mode
 * says so, waits for the others and joins the threads. Safe to call
 * several times and from several threads. Called from one of the pool's
 * own threads, it cannot wait for itself: it only closes the pool, whose
 * threads then exit on their own when the last task settles.
 */
void
tw_pool_shutdown (TwPool         *self,
                  TwShutdownMode  mode)
{
  GQueue doomed = G_QUEUE_INIT;
  GQueue answered = G_QUEUE_INIT;
  gboolean own_thread = g_private_get (&current_pool) == self;

  g_mutex_lock (&self->lock);
  self->closing = TRUE;
  tw_pool_make_room_locked (self, &answered);
  if (mode == TW_SHUTDOWN_MODE_CANCEL_PENDING)
    {
      g_atomic_int_set (&self->cancelling, TRUE);
      tw_pool_steal_pending_locked (self, &doomed);
    }
  if (own_thread)
    self->detached = TRUE;
  g_mutex_unlock (&self->lock);

  tw_pool_answer_blocked (&answered);
  tw_pool_cancel_queue (&doomed);
  tw_notifier_schedule (self->notifier);

  if (!own_thread)
    tw_pool_join_threads (self);
}
