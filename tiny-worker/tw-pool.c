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

#include <signal.h>

#include "tw-error.h"
#include "tw-future-private.h"
#include "tw-pool-private.h"
#include "tw-waiter-private.h"
#include "tw-wire-private.h"

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
 * Locking: the pool's lock and a future's lock are never held together,
 * and neither is held while user code runs. The fields of a future that
 * say where it is queued belong to the pool's lock.
 */

struct _TwPool
{
  gatomicrefcount     ref_count;

  /* Read-only after tw_pool_new(). */
  const TwPoolRunner *runner;
  gpointer            data;          /* the runner's data, shared by all threads */
  GDestroyNotify      data_destroy;  /* called once the threads are gone */
  guint               n_workers;
  GMainContext       *context;       /* where the owner is told of counter changes */
  GWeakRef            owner;         /* the troupe, never reffed off its context */
  TwPoolNotifyFunc    notify_func;

  /* Protected by lock. */
  GMutex              lock;
  GCond               work_cond;     /* a task was queued, or the pool stops */
  GCond               idle_cond;     /* outstanding reached 0, or the threads were joined */
  GQueue              queue;         /* TwFuture ready to run; each link holds a ref */
  GQueue              waiting;       /* TwFuture chained to an unsettled input; refs */
  guint               max_queued;    /* submits wait while queue has this many; 0: never */
  GCond               space_cond;    /* room in the queue, or closing */
  guint               n_blocked;     /* submitters waiting on space_cond */
  GQueue              blocked_async; /* TwWaiter: async submits waiting for room, oldest first */
  GPtrArray          *threads;       /* GThread, until joined */
  guint               n_idle;        /* threads waiting on work_cond */
  guint               n_woken;       /* of those, signalled and not yet running */
  guint               n_running;
  guint               closing : 1;   /* submits fail from now on */
  guint               stopping : 1;  /* threads exit once the queue is empty */
  guint               stopped : 1;   /* the threads were joined */
  guint               detached : 1;  /* shut down from its own thread: nobody joins */
  GSource            *notify_source; /* the pending counter notification */
  GCancellable       *stop;          /* cancelled when the threads must stop */

  /* Read-only once a task is queued (see tw_pool_set_limits()). */
  gint64              task_timeout;  /* µs a task may run, or 0 */
  guint               max_retries;   /* extra attempts for a failed task */

  /* Protected by lock: tasks under the watchdog's eye, by deadline. */
  GThread            *watchdog;
  GCond               watch_cond;
  GQueue              watched;       /* TwWatch, earliest deadline first */

  /* Atomic, so that settling a task takes no lock. outstanding only
   * grows under lock, while the pool is not closing. */
  gint                outstanding;   /* tasks submitted and not settled */
  gint                n_succeeded;
  gint                n_failed;
  gint                n_cancelled;
  gint                notify_scheduled;
  gint                cancelling;    /* shut down with CANCEL_PENDING */
};

typedef struct
{
  TwFuture *future;                  /* owned */
  gint64    deadline;
} TwWatch;

static GPrivate current_pool;
static GPrivate current_task;  /* the TwFuture this thread's worker runs */

static gpointer tw_pool_thread (gpointer data);

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

  g_assert (runner != NULL);
  g_assert (runner->serve != NULL || runner->worker_call != NULL);
  g_assert (n_workers > 0);

  self = g_new0 (TwPool, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->runner = runner;
  self->data = data;
  self->data_destroy = data_destroy;
  self->n_workers = n_workers;
  self->context = g_main_context_ref (context);
  g_weak_ref_init (&self->owner, owner);
  self->notify_func = notify_func;
  g_mutex_init (&self->lock);
  g_cond_init (&self->work_cond);
  g_cond_init (&self->idle_cond);
  g_cond_init (&self->space_cond);
  g_cond_init (&self->watch_cond);
  g_queue_init (&self->watched);
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

  /* Unreffing a thread that was not joined detaches it. */
  g_clear_pointer (&self->threads, g_ptr_array_unref);
  g_clear_pointer (&self->watchdog, g_thread_unref);
  g_clear_object (&self->stop);
  tw_pool_release_data (self);
  g_weak_ref_clear (&self->owner);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->work_cond);
  g_cond_clear (&self->idle_cond);
  g_cond_clear (&self->space_cond);
  g_cond_clear (&self->watch_cond);
  g_free (self);
}

static gboolean
tw_pool_notify_cb (gpointer user_data)
{
  TwPool *self = user_data;
  GObject *owner;

  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->notify_source, g_source_unref);
  g_mutex_unlock (&self->lock);
  g_atomic_int_set (&self->notify_scheduled, FALSE);

  owner = g_weak_ref_get (&self->owner);
  if (owner != NULL)
    {
      self->notify_func (owner);
      g_object_unref (owner);
    }

  return G_SOURCE_REMOVE;
}

/* Tells the owner of changed counters in its main context. At most one
 * source is pending at a time, so a context that never runs holds one
 * source, not one per task. */
static void
tw_pool_schedule_notify (TwPool *self)
{
  GSource *source;

  /* Read first: a plain read keeps the cache line shared between threads. */
  if (g_atomic_int_get (&self->notify_scheduled) ||
      !g_atomic_int_compare_and_exchange (&self->notify_scheduled, FALSE, TRUE))
    return;

  source = g_idle_source_new ();
  g_source_set_static_name (source, "[tw] troupe notify");
  g_source_set_priority (source, G_PRIORITY_DEFAULT_IDLE);
  g_source_set_callback (source, tw_pool_notify_cb,
                         tw_pool_ref (self), (GDestroyNotify)tw_pool_unref);

  g_mutex_lock (&self->lock);
  g_assert (self->notify_source == NULL);
  self->notify_source = source;
  g_mutex_unlock (&self->lock);

  g_source_attach (source, self->context);
}

/* Called when the owner goes: nobody is left to notify, so a pending
 * notification would only keep the pool alive in a context that may
 * never run again. */
void
tw_pool_forget_owner (TwPool *self)
{
  GSource *source;

  g_mutex_lock (&self->lock);
  source = g_steal_pointer (&self->notify_source);
  g_mutex_unlock (&self->lock);

  if (source != NULL)
    {
      g_source_destroy (source);
      g_source_unref (source);
    }
}

/* Takes @input (owned) and a new reference on @future. */
static void
tw_pool_enqueue_locked (TwPool   *self,
                        TwFuture *future,
                        GVariant *input)
{
  *_tw_future_get_input_slot (future) = input;
  *_tw_future_get_queue_slot (future) = &self->queue;
  g_queue_push_tail_link (&self->queue, _tw_future_get_link (future));

  /* A woken thread stays idle until it gets the lock back: signalling
   * again meanwhile would only wake another for nothing. */
  if (self->n_idle > self->n_woken)
    {
      self->n_woken++;
      g_cond_signal (&self->work_cond);
    }
}

static gboolean
tw_pool_has_room_locked (TwPool *self)
{
  return self->max_queued == 0 || self->queue.length < self->max_queued;
}

static TwFuture *
tw_pool_new_task_locked (TwPool *self)
{
  TwFuture *future = _tw_future_new ();

  _tw_future_bind_pool (future, self);
  g_atomic_int_inc (&self->outstanding);

  return future;
}

static TwFuture *
tw_pool_new_shut_down_future (void)
{
  return tw_future_new_for_error (g_error_new_literal (TW_ERROR, TW_ERROR_SHUT_DOWN,
                                                       "The troupe has been shut down"));
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
  TwFuture *future;
  GError *error = NULL;

  if (self->runner->check_input != NULL &&
      !self->runner->check_input (input, &error))
    {
      g_variant_unref (input);
      return tw_future_new_for_error (error);
    }

  g_mutex_lock (&self->lock);

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
      return tw_pool_new_shut_down_future ();
    }

  future = tw_pool_new_task_locked (self);
  if (chunk)
    _tw_future_set_chunk (future);
  tw_pool_enqueue_locked (self, g_object_ref (future), input);

  g_mutex_unlock (&self->lock);

  tw_pool_schedule_notify (self);

  return future;
}

/* Answers blocked async submits that got room or were shut out; each
 * takes the queue's reference along. */
static void
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
static void
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
          blocked->future = tw_pool_new_task_locked (self);
          tw_pool_enqueue_locked (self, g_object_ref (blocked->future),
                                  g_steal_pointer (&blocked->input));
        }
      g_queue_push_tail (answered, blocked);
    }

  if (self->n_blocked > 0 && (self->closing || tw_pool_has_room_locked (self)))
    g_cond_broadcast (&self->space_cond);
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

  if (self->runner->check_input != NULL &&
      !self->runner->check_input (input, &error))
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
    tw_pool_schedule_notify (self);

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

/* Unlinks @future from whichever queue holds it, and says whether it did.
 * The caller then owns the queue's reference. */
static gboolean
tw_pool_unlink_locked (TwPool   *self,
                       TwFuture *future)
{
  GQueue **queue = _tw_future_get_queue_slot (future);

  if (*queue == NULL)
    return FALSE;

  g_queue_unlink (*queue, _tw_future_get_link (future));
  *queue = NULL;
  g_clear_pointer (_tw_future_get_input_slot (future), g_variant_unref);

  return TRUE;
}

static void
tw_pool_input_settled_cb (TwFuture *input,
                          gpointer  user_data)
{
  g_autoptr(TwFuture) future = user_data;
  g_autoptr(TwPool) self = _tw_future_dup_pool (future);
  GError *error = NULL;
  GVariant *value;
  gboolean removed;

  /* Cancelled while it waited: nothing to do. */
  if (self == NULL)
    return;

  value = _tw_future_get_value (input);
  if (value == NULL)
    error = _tw_future_dup_error (input);
  else if (self->runner->check_input != NULL &&
           !self->runner->check_input (value, &error))
    value = NULL;

  g_mutex_lock (&self->lock);
  removed = tw_pool_unlink_locked (self, future);
  if (removed && value != NULL)
    tw_pool_enqueue_locked (self, future, g_variant_ref (value));
  g_mutex_unlock (&self->lock);

  if (removed && value == NULL)
    {
      _tw_future_settle (future, NULL, error);
      g_object_unref (future);
    }
  else
    g_clear_error (&error);

  tw_pool_schedule_notify (self);
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
                       TwFuture *input)
{
  TwFuture *future;

  g_mutex_lock (&self->lock);

  if (self->closing)
    {
      g_mutex_unlock (&self->lock);
      return tw_pool_new_shut_down_future ();
    }

  future = tw_pool_new_task_locked (self);
  *_tw_future_get_queue_slot (future) = &self->waiting;
  g_queue_push_tail_link (&self->waiting, _tw_future_get_link (g_object_ref (future)));

  g_mutex_unlock (&self->lock);

  _tw_future_add_dependent (input, tw_pool_input_settled_cb, g_object_ref (future));

  return future;
}

/*
 * tw_pool_remove:
 *
 * Removes a task that has not started from the pool's queues. Returns
 * %TRUE if it was there; the caller then owns the queue's reference.
 */
gboolean
tw_pool_remove (TwPool   *self,
                TwFuture *future)
{
  GQueue answered = G_QUEUE_INIT;
  gboolean removed;

  g_mutex_lock (&self->lock);
  removed = tw_pool_unlink_locked (self, future);
  if (removed && self->max_queued > 0)
    tw_pool_make_room_locked (self, &answered);
  g_mutex_unlock (&self->lock);

  tw_pool_answer_blocked (&answered);
  if (removed)
    tw_pool_schedule_notify (self);

  return removed;
}

/* Counts a task's outcome. Called by the task as it settles, before any
 * waiter can see that, so the counters never lag the futures. */
void
tw_pool_count_outcome (TwPool        *self,
                       TwFutureState  state)
{
  if (state == TW_FUTURE_STATE_SUCCEEDED)
    g_atomic_int_inc (&self->n_succeeded);
  else if (state == TW_FUTURE_STATE_CANCELLED)
    g_atomic_int_inc (&self->n_cancelled);
  else
    g_atomic_int_inc (&self->n_failed);
}

/* Called by every task of the pool once, after it settled. */
void
tw_pool_task_settled (TwPool *self)
{
  if (g_atomic_int_dec_and_test (&self->outstanding))
    {
      /* Under the lock, so that a shutdown that saw outstanding > 0 is
       * already waiting and gets the broadcast. */
      g_mutex_lock (&self->lock);
      if (self->closing)
        {
          g_cond_broadcast (&self->idle_cond);

          /* Nobody will join the threads: let them go on their own. */
          if (self->detached)
            {
              self->stopping = TRUE;
              g_cond_broadcast (&self->work_cond);
              g_cond_broadcast (&self->watch_cond);
              g_cancellable_cancel (self->stop);
            }
        }
      g_mutex_unlock (&self->lock);
    }

  tw_pool_schedule_notify (self);
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
  *n_running = self->n_running;
  *n_succeeded = g_atomic_int_get (&self->n_succeeded);
  *n_failed = g_atomic_int_get (&self->n_failed);
  *n_cancelled = g_atomic_int_get (&self->n_cancelled);
  g_mutex_unlock (&self->lock);
}

/*
 * tw_pool_pop_task:
 * @n_finished: how many of this thread's tasks finished since its last pop
 * @block: whether to wait for a task
 *
 * Takes the next task, waiting for one if @block. Returns NULL when the
 * pool stops, or when it has no task and @block is %FALSE. A thread that
 * does not block already has work in flight: it gets a task only when
 * there are more than enough for every worker, so that a few tasks
 * spread over all workers, starting ones included. Finished tasks
 * stop counting as running in the same critical section, so that a thread
 * takes the lock once per task.
 */
TwFuture *
tw_pool_pop_task (TwPool    *self,
                  guint      n_finished,
                  gboolean   block,
                  GVariant **input)
{
  GQueue answered = G_QUEUE_INIT;
  GList *link;
  TwFuture *future;

  g_mutex_lock (&self->lock);

  g_assert (self->n_running >= n_finished);
  self->n_running -= n_finished;

  while (block && self->queue.length == 0 && !self->stopping)
    {
      /* Going idle: n-running dropped, and nothing else will say so. */
      if (n_finished > 0)
        {
          n_finished = 0;
          g_mutex_unlock (&self->lock);
          tw_pool_schedule_notify (self);
          g_mutex_lock (&self->lock);
          continue;
        }

      self->n_idle++;
      g_cond_wait (&self->work_cond, &self->lock);
      self->n_idle--;
      if (self->n_woken > 0)
        self->n_woken--;
    }

  if (block || (self->n_idle == 0 && self->queue.length > self->n_workers))
    link = g_queue_pop_head_link (&self->queue);
  else
    link = NULL;
  future = link ? link->data : NULL;
  if (future != NULL)
    {
      *_tw_future_get_queue_slot (future) = NULL;
      *input = g_steal_pointer (_tw_future_get_input_slot (future));
      self->n_running++;
      if (self->max_queued > 0)
        tw_pool_make_room_locked (self, &answered);
    }

  g_mutex_unlock (&self->lock);

  if (answered.length > 0)
    tw_pool_answer_blocked (&answered);
  if (n_finished > 0 || future != NULL)
    tw_pool_schedule_notify (self);

  return future;
}

/* Cancels each watched task whose deadline passed, as tw_future_cancel()
 * does, so the cancellation rules of each mode apply. */
static gpointer
tw_pool_watchdog (gpointer data)
{
  g_autoptr(TwPool) self = data;
  TwWatch *watch;

  g_mutex_lock (&self->lock);

  while (!self->stopping)
    {
      watch = g_queue_peek_head (&self->watched);
      if (watch == NULL)
        g_cond_wait (&self->watch_cond, &self->lock);
      else if (g_get_monotonic_time () < watch->deadline)
        g_cond_wait_until (&self->watch_cond, &self->lock, watch->deadline);
      else
        {
          g_queue_pop_head (&self->watched);
          g_mutex_unlock (&self->lock);

          if (!tw_future_is_done (watch->future))
            tw_future_cancel (watch->future);
          g_object_unref (watch->future);
          g_free (watch);

          g_mutex_lock (&self->lock);
        }
    }

  while ((watch = g_queue_pop_head (&self->watched)) != NULL)
    {
      g_object_unref (watch->future);
      g_free (watch);
    }

  g_mutex_unlock (&self->lock);

  return NULL;
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
  g_mutex_lock (&self->lock);
  self->task_timeout = task_timeout;
  self->max_retries = max_retries;
  if (task_timeout > 0 && self->watchdog == NULL)
    self->watchdog = g_thread_new ("tw-watchdog", tw_pool_watchdog, tw_pool_ref (self));
  g_mutex_unlock (&self->lock);
}

/* Starts the timeout of a task that begins to run. Tasks start in
 * order, and all have the same timeout, so the queue stays sorted. */
void
tw_pool_watch (TwPool   *self,
               TwFuture *future)
{
  TwWatch *watch;

  if (self->task_timeout == 0)
    return;

  watch = g_new (TwWatch, 1);
  watch->future = g_object_ref (future);
  watch->deadline = g_get_monotonic_time () + self->task_timeout;

  g_mutex_lock (&self->lock);
  g_queue_push_tail (&self->watched, watch);
  if (self->watched.length == 1)
    g_cond_signal (&self->watch_cond);
  g_mutex_unlock (&self->lock);
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

/* The task that the calling thread's worker is running, if any. */
TwFuture *
tw_pool_get_current_task (void)
{
  return g_private_get (&current_task);
}

/* Tells the pool that tasks popped by this thread are no longer running. */
void
tw_pool_report_finished (TwPool *self,
                         guint   n_finished)
{
  g_mutex_lock (&self->lock);
  g_assert (self->n_running >= n_finished);
  self->n_running -= n_finished;
  g_mutex_unlock (&self->lock);

  tw_pool_schedule_notify (self);
}

typedef struct
{
  TwPool   *pool;
  gpointer  worker;
} TwPoolCall;

static GVariant *
tw_pool_call_worker (gpointer       data,
                     GVariant      *input,
                     GCancellable  *cancellable,
                     GError       **error)
{
  TwPoolCall *call = data;

  return call->pool->runner->worker_call (call->worker, call->pool->data,
                                          input, cancellable, error);
}

/* Runs one task on this thread's worker, setting it up first if needed.
 * A worker whose setup failed fails the task with the setup error; the
 * next task tries a new worker. */
static void
tw_pool_run_task (TwPool        *self,
                  gpointer      *worker,
                  TwFuture      *future,
                  GVariant      *input,
                  GCancellable  *cancellable)
{
  GError *error = NULL;
  GVariant *result = NULL;

  tw_pool_watch (self, future);

  for (guint attempt = 0; ; attempt++)
    {
      if (*worker == NULL)
        *worker = self->runner->worker_new (self->data, cancellable, &error);

      if (*worker != NULL)
        {
          TwPoolCall call = { self, *worker };

          g_private_set (&current_task, future);
          if (_tw_future_is_chunk (future))
            result = tw_wire_run_chunk (input, tw_pool_call_worker, &call, cancellable, &error);
          else
            result = tw_pool_call_worker (&call, input, cancellable, &error);
          g_private_set (&current_task, NULL);
        }

      if (result != NULL || !tw_pool_should_retry (self, error, attempt))
        break;
      g_clear_error (&error);
    }

  g_assert ((result == NULL) != (error == NULL));

  _tw_future_settle (future, result, error);
}

/* The loop of a thread that runs one task at a time on its worker. */
static void
tw_pool_serve_tasks (TwPool *self)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  gpointer worker = NULL;
  GError *setup_error = NULL;
  TwFuture *future;
  GVariant *input = NULL;
  guint n_finished = 0;

  /* Set up before the first task, so the first one does not pay for it. */
  worker = self->runner->worker_new (self->data, cancellable, &setup_error);
  if (worker == NULL)
    g_clear_error (&setup_error);  /* retried, and reported, with the first task */

  while ((future = tw_pool_pop_task (self, n_finished, TRUE, &input)) != NULL)
    {
      n_finished = 1;

      if (_tw_future_start (future, cancellable))
        tw_pool_run_task (self, &worker, future, input, cancellable);

      g_clear_pointer (&input, g_variant_unref);
      g_object_unref (future);

      /* A cancelled task leaves its cancellable cancelled: start afresh. */
      if (g_cancellable_is_cancelled (cancellable))
        {
          g_object_unref (cancellable);
          cancellable = g_cancellable_new ();
        }
    }

  if (worker != NULL && self->runner->worker_free != NULL)
    self->runner->worker_free (worker, self->data);
}

static gpointer
tw_pool_thread (gpointer data)
{
  g_autoptr(TwPool) self = data;
  sigset_t pipe_set;

  g_private_set (&current_pool, self);

  /* Writing to a worker process that died must fail with EPIPE, not kill
   * the application (see tw-wire.c). */
  sigemptyset (&pipe_set);
  sigaddset (&pipe_set, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &pipe_set, NULL);

  if (self->runner->serve != NULL)
    self->runner->serve (self, self->data);
  else
    tw_pool_serve_tasks (self);

  g_private_set (&current_pool, NULL);

  return NULL;
}

static void
tw_pool_cancel_queue (GQueue *queue)
{
  TwFuture *future;

  while ((future = g_queue_pop_head (queue)) != NULL)
    {
      _tw_future_settle (future, NULL,
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
      TwFuture *future;

      while ((future = g_queue_peek_head (queues[i])) != NULL)
        {
          tw_pool_unlink_locked (self, future);
          g_queue_push_tail (doomed, future);
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

  /* It saw stopping too: nothing is left to watch. */
  g_mutex_lock (&self->lock);
  g_cond_broadcast (&self->watch_cond);
  g_mutex_unlock (&self->lock);
  g_clear_pointer (&self->watchdog, g_thread_join);

  tw_pool_release_data (self);

  g_mutex_lock (&self->lock);
  self->stopped = TRUE;
  g_cond_broadcast (&self->idle_cond);
  g_mutex_unlock (&self->lock);
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
  tw_pool_schedule_notify (self);

  if (!own_thread)
    tw_pool_join_threads (self);
}
