/* tw-future.c
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

#include "tw-defer-private.h"
#include "tw-enums.h"
#include "tw-future-private.h"
#include "tw-waiter-private.h"

/**
 * SECTION:tw-future
 * @title: TwFuture
 * @short_description: The result of a task that may not have finished yet
 *
 * A #TwFuture is what tw_troupe_submit() returns: a handle on one task's
 * outcome. It starts %TW_FUTURE_STATE_PENDING, becomes
 * %TW_FUTURE_STATE_RUNNING when a worker takes the task, and settles
 * exactly once, in %TW_FUTURE_STATE_SUCCEEDED with a #GVariant value,
 * %TW_FUTURE_STATE_FAILED with the worker's #GError, or
 * %TW_FUTURE_STATE_CANCELLED with %G_IO_ERROR_CANCELLED.
 *
 * Wait for it by blocking, with an optional timeout:
 * |[<!-- language="C" -->
 * g_autoptr(GError) error = NULL;
 * g_autoptr(GVariant) value = tw_future_wait (future, 5 * G_USEC_PER_SEC, &error);
 *
 * if (value == NULL)
 *   g_printerr ("task failed: %s\n", error->message);
 * ]|
 *
 * or from a main loop, with tw_future_wait_async(), whose callback runs
 * in the thread-default #GMainContext of the caller, as in GIO.
 *
 * Futures are thread-safe: any thread may wait on, cancel or chain a
 * future. Settling one never needs a running main loop; only the
 * #GObject::notify signal of #TwFuture:state and async waits are
 * delivered through the main context that was thread-default when the
 * future was created.
 */

enum {
  PROP_0,
  PROP_STATE,
  PROP_PROGRESS,
  PROP_PROGRESS_MESSAGE,
  N_PROPS
};

static GParamSpec *properties [N_PROPS];
static guint notify_signal_id;

G_STATIC_ASSERT (N_PROPS <= 8);  /* notify_pending is a byte */

G_DEFINE_FINAL_TYPE (TwFuture, tw_future, G_TYPE_OBJECT)

/* Called with the lock held, or before the future is shared. */
TwFutureExtra *
tw_future_ensure_extra (TwFuture *self)
{
  if (self->extra == NULL)
    {
      self->extra = g_new0 (TwFutureExtra, 1);
      g_cond_init (&self->extra->cond);
    }

  return self->extra;
}

static void
tw_future_extra_free (TwFutureExtra *extra)
{
  g_assert (extra->waiters == NULL);

  g_clear_pointer (&extra->progress_message, g_free);
  g_clear_pointer (&extra->context, g_main_context_unref);
  g_cond_clear (&extra->cond);
  g_free (extra);
}

static void
tw_future_finalize (GObject *object)
{
  TwFuture *self = (TwFuture *)object;

  g_assert (self->dependents == NULL);
  /* The owner's task record keeps a reference until the future settles. */
  g_assert (self->owner == NULL);

  if (self->state == TW_FUTURE_STATE_SUCCEEDED)
    g_variant_unref (self->outcome.value);
  else if (tw_future_state_is_settled (self->state))
    g_error_free (self->outcome.error);
  g_clear_pointer (&self->extra, tw_future_extra_free);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (tw_future_parent_class)->finalize (object);
}

static void
tw_future_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  TwFuture *self = TW_FUTURE (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, tw_future_get_state (self));
      break;

    case PROP_PROGRESS:
      g_value_set_double (value, tw_future_get_progress (self));
      break;

    case PROP_PROGRESS_MESSAGE:
      g_value_take_string (value, tw_future_dup_progress_message (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tw_future_class_init (TwFutureClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tw_future_finalize;
  object_class->get_property = tw_future_get_property;

  /**
   * TwFuture:state:
   *
   * The state of the task, a #TwFutureState. Its #GObject::notify signal
   * is emitted in the main context that was thread-default when the
   * future was created, never on a worker thread; a state that changes
   * twice before that context runs is notified once.
   *
   * Since: 1.0
   */
  properties [PROP_STATE] =
    g_param_spec_enum ("state", "State", "The state of the task",
                       TW_TYPE_FUTURE_STATE,
                       TW_FUTURE_STATE_PENDING,
                       (G_PARAM_READABLE |
                        G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS));

  /**
   * TwFuture:progress:
   *
   * How far the task has come, from 0 to 1, as its worker last reported
   * with tw_report_progress(). Notified like #TwFuture:state, in the
   * future's main context, so a `GtkProgressBar` can be bound to it.
   *
   * Since: 1.0
   */
  properties [PROP_PROGRESS] =
    g_param_spec_double ("progress", "Progress", "How far the task has come, from 0 to 1",
                         0.0, 1.0, 0.0,
                         (G_PARAM_READABLE |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * TwFuture:progress-message:
   *
   * The message the worker last reported with tw_report_progress(), or
   * %NULL.
   *
   * Since: 1.0
   */
  properties [PROP_PROGRESS_MESSAGE] =
    g_param_spec_string ("progress-message",
                         "Progress message",
                         "What the worker last said it was doing",
                         NULL,
                         (G_PARAM_READABLE |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  notify_signal_id = g_signal_lookup ("notify", G_TYPE_OBJECT);
}

static void
tw_future_init (TwFuture *self)
{
  /* NULL when it is the global default, as in most futures. */
  GMainContext *context = g_main_context_get_thread_default ();

  g_mutex_init (&self->lock);
  self->state = TW_FUTURE_STATE_PENDING;
  if (context != NULL)
    tw_future_ensure_extra (self)->context = g_main_context_ref (context);
}

TwFuture *
tw_future_new (void)
{
  return g_object_new (TW_TYPE_FUTURE, NULL);
}

/* Makes a new, unshared, pending future a task of @owner, which it then
 * tells of its cancellation and settling. */
void
tw_future_set_owner (TwFuture      *self,
                     TwFutureOwner *owner)
{
  g_assert (self->owner == NULL);
  g_assert (self->state == TW_FUTURE_STATE_PENDING);

  self->owner = owner;
}

/**
 * tw_future_new_for_value:
 * @value: the value; a floating reference is sunk
 *
 * Creates a future that has already succeeded with @value. Submitting it
 * with tw_troupe_submit_future() queues @value at once.
 *
 * Returns: (transfer full): a new settled #TwFuture
 *
 * Since: 1.0
 */
TwFuture *
tw_future_new_for_value (GVariant *value)
{
  TwFuture *self;

  g_return_val_if_fail (value != NULL, NULL);

  self = g_object_new (TW_TYPE_FUTURE, NULL);
  self->state = TW_FUTURE_STATE_SUCCEEDED;
  self->outcome.value = g_variant_ref_sink (value);

  return self;
}

/**
 * tw_future_new_for_error:
 * @error: (transfer full): the error
 *
 * Creates a future that has already failed with @error. Its state is
 * %TW_FUTURE_STATE_CANCELLED when @error is %G_IO_ERROR_CANCELLED, and
 * %TW_FUTURE_STATE_FAILED otherwise.
 *
 * Returns: (transfer full): a new settled #TwFuture
 *
 * Since: 1.0
 */
TwFuture *
tw_future_new_for_error (GError *error)
{
  TwFuture *self;

  g_return_val_if_fail (error != NULL, NULL);

  self = g_object_new (TW_TYPE_FUTURE, NULL);
  self->state = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
              ? TW_FUTURE_STATE_CANCELLED
              : TW_FUTURE_STATE_FAILED;
  self->outcome.error = error;

  return self;
}

/**
 * tw_future_get_state:
 * @self: a #TwFuture
 *
 * Gets the current state of the task. Another thread may change it at any
 * moment, except once it is settled.
 *
 * Returns: the state of the task
 *
 * Since: 1.0
 */
TwFutureState
tw_future_get_state (TwFuture *self)
{
  g_return_val_if_fail (TW_IS_FUTURE (self), TW_FUTURE_STATE_PENDING);

  return tw_future_load_state (self);
}

/**
 * tw_future_is_done:
 * @self: a #TwFuture
 *
 * Checks whether the task has settled: succeeded, failed or been
 * cancelled. A settled future never changes again, and
 * tw_future_wait() on it returns at once.
 *
 * Returns: %TRUE if the future is settled
 *
 * Since: 1.0
 */
gboolean
tw_future_is_done (TwFuture *self)
{
  g_return_val_if_fail (TW_IS_FUTURE (self), FALSE);

  return tw_future_state_is_settled (tw_future_get_state (self));
}

static gboolean
tw_future_notify_cb (gpointer user_data)
{
  TwFuture *self = user_data;
  guint pending;

  g_mutex_lock (&self->lock);
  pending = self->notify_pending;
  self->notify_pending = 0;
  g_mutex_unlock (&self->lock);

  g_object_freeze_notify (G_OBJECT (self));
  for (guint prop_id = 1; prop_id < N_PROPS; prop_id++)
    if (pending & (1u << prop_id))
      g_object_notify_by_pspec (G_OBJECT (self), properties [prop_id]);
  g_object_thaw_notify (G_OBJECT (self));

  return G_SOURCE_REMOVE;
}

/* Emits notify for @prop_id in the future's own context. Only futures
 * that somebody watches get a source, so a program that never runs a
 * main loop does not accumulate one per task; changes coalesce until the
 * source runs. Any notify handler counts, with or without a detail:
 * g_signal_has_handler_pending() with the property's detail would miss
 * a plain "notify" handler. */
static void
tw_future_schedule_notify (TwFuture *self,
                           guint     prop_id)
{
  GMainContext *context;
  GSource *source;
  gboolean schedule;

  if (g_signal_handler_find (self, G_SIGNAL_MATCH_ID, notify_signal_id, 0,
                             NULL, NULL, NULL) == 0)
    return;

  g_mutex_lock (&self->lock);
  schedule = self->notify_pending == 0;
  self->notify_pending |= 1u << prop_id;
  context = self->extra != NULL ? self->extra->context : NULL;
  g_mutex_unlock (&self->lock);

  if (!schedule)
    return;

  source = g_idle_source_new ();
  g_source_set_static_name (source, "[tw] future notify");
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, tw_future_notify_cb,
                         g_object_ref (self), g_object_unref);
  g_source_attach (source, context);
  g_source_unref (source);
}

/**
 * tw_future_get_progress:
 * @self: a #TwFuture
 *
 * Gets #TwFuture:progress.
 *
 * Returns: the progress last reported by the task's worker, from 0 to 1
 *
 * Since: 1.0
 */
gdouble
tw_future_get_progress (TwFuture *self)
{
  gdouble progress;

  g_return_val_if_fail (TW_IS_FUTURE (self), 0.0);

  g_mutex_lock (&self->lock);
  progress = self->extra != NULL ? self->extra->progress : 0.0;
  g_mutex_unlock (&self->lock);

  return progress;
}

/**
 * tw_future_dup_progress_message:
 * @self: a #TwFuture
 *
 * Gets #TwFuture:progress-message.
 *
 * Returns: (transfer full) (nullable): the message last reported by the
 *   task's worker, or %NULL
 *
 * Since: 1.0
 */
char *
tw_future_dup_progress_message (TwFuture *self)
{
  char *message;

  g_return_val_if_fail (TW_IS_FUTURE (self), NULL);

  g_mutex_lock (&self->lock);
  message = self->extra != NULL ? g_strdup (self->extra->progress_message) : NULL;
  g_mutex_unlock (&self->lock);

  return message;
}

/* Records progress reported by the worker of a running task. */
void
tw_future_set_progress (TwFuture   *self,
                        gdouble     fraction,
                        const char *message)
{
  TwFutureExtra *extra;
  gboolean message_changed;

  /* It may come from another process: NaN becomes 0. */
  fraction = fraction >= 0.0 ? MIN (fraction, 1.0) : 0.0;

  g_mutex_lock (&self->lock);
  if (self->state != TW_FUTURE_STATE_RUNNING)
    {
      g_mutex_unlock (&self->lock);
      return;
    }
  extra = tw_future_ensure_extra (self);
  extra->progress = fraction;
  message_changed = g_strcmp0 (message, extra->progress_message) != 0;
  if (message_changed)
    {
      g_free (extra->progress_message);
      extra->progress_message = g_strdup (message);
    }
  g_mutex_unlock (&self->lock);

  tw_future_schedule_notify (self, PROP_PROGRESS);
  if (message_changed)
    tw_future_schedule_notify (self, PROP_PROGRESS_MESSAGE);
}

/*
 * tw_future_start:
 * @cancellable: the worker's cancellable for this task
 *
 * Moves a pending task to RUNNING. Returns %FALSE if it settled meanwhile
 * (it was cancelled), and then the worker must skip it.
 */
gboolean
tw_future_start (TwFuture     *self,
                 GCancellable *cancellable)
{
  gboolean started;

  g_mutex_lock (&self->lock);
  started = self->state == TW_FUTURE_STATE_PENDING;
  if (started)
    {
      tw_future_store_state (self, TW_FUTURE_STATE_RUNNING);
      self->cancellable = cancellable;
    }
  g_mutex_unlock (&self->lock);

  if (started)
    tw_future_schedule_notify (self, PROP_STATE);

  return started;
}

/*
 * tw_future_dispatch:
 * @cancellable: fired if the task is cancelled from now on
 *
 * Hands a pending task to a worker that runs tasks in a pipeline: it
 * stays pending until tw_future_start(), but cancelling it now also
 * fires @cancellable, to wake the worker. Returns %FALSE if it settled
 * meanwhile.
 */
gboolean
tw_future_dispatch (TwFuture     *self,
                    GCancellable *cancellable)
{
  gboolean pending;

  g_mutex_lock (&self->lock);
  pending = self->state == TW_FUTURE_STATE_PENDING;
  if (pending)
    self->cancellable = cancellable;
  g_mutex_unlock (&self->lock);

  return pending;
}

/* Whether tw_future_cancel() was called while the task ran. Workers that
 * share one cancellable between several tasks use it to tell which. */
gboolean
tw_future_get_cancel_requested (TwFuture *self)
{
  gboolean requested;

  g_mutex_lock (&self->lock);
  requested = self->cancel_requested;
  g_mutex_unlock (&self->lock);

  return requested;
}

/* Points a running task at a fresh cancellable, after its worker had to
 * replace a cancelled one that the task shared with others. */
void
tw_future_set_cancellable (TwFuture     *self,
                           GCancellable *cancellable)
{
  g_mutex_lock (&self->lock);
  if (!tw_future_state_is_settled (self->state))
    self->cancellable = cancellable;
  g_mutex_unlock (&self->lock);
}

/* What is left to do once a future has settled, taken from it under its
 * lock as it settles, so that finishing takes the lock no more. */
typedef struct
{
  TwFuture      *future;      /* a reference */
  TwFutureOwner *owner;
  GSList        *waiters;     /* TwWaiter, already marked done */
  TwDependent   *dependents;  /* newest first */
} TwSettling;

/* Answers the async waiters, runs the dependents, schedules the notify
 * and tells the owner, with no lock held, and drops the reference. */
static void
tw_future_finish_settling (TwSettling *settling)
{
  TwFuture *self = settling->future;
  TwDependent *newest = settling->dependents;
  TwDependent *dependents = NULL;

  for (const GSList *l = settling->waiters; l != NULL; l = l->next)
    tw_future_return_task (self, ((TwWaiter *)l->data)->task);
  g_slist_free_full (settling->waiters, tw_waiter_answered);

  /* They were prepended: run them in the order they were added. */
  while (newest != NULL)
    {
      TwDependent *next = newest->next;

      newest->next = dependents;
      dependents = newest;
      newest = next;
    }

  while (dependents != NULL)
    {
      TwDependent *next = dependents->next;

      dependents->func (self, dependents->user_data);
      g_free (dependents);
      dependents = next;
    }

  tw_future_schedule_notify (self, PROP_STATE);
  if (settling->owner != NULL)
    settling->owner->funcs->settled (settling->owner);
  g_object_unref (self);
}

static void
tw_future_finish_deferred (gpointer data)
{
  tw_future_finish_settling (data);
  g_free (data);
}

/* Called with the lock held, on a future that has not settled; releases
 * the lock. Wakes blocking waiters, then finishes settling with no lock
 * held. */
static void
tw_future_settle_locked (TwFuture *self,
                         GVariant *value,
                         GError   *error,
                         gboolean *cancel_requested)
{
  TwSettling settling = { NULL, };
  TwFutureState state;

  g_assert ((value == NULL) != (error == NULL));
  g_assert (!tw_future_state_is_settled (self->state));

  if (value != NULL)
    state = TW_FUTURE_STATE_SUCCEEDED;
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    state = TW_FUTURE_STATE_CANCELLED;
  else
    state = TW_FUTURE_STATE_FAILED;

  if (value != NULL)
    self->outcome.value = value;
  else
    self->outcome.error = error;
  /* Counted first, so a waiter that sees the state unlocked sees the count. */
  if (self->owner != NULL)
    self->owner->funcs->count (self->owner, state);
  /* After the outcome: tw_future_is_done() reads state without the lock. */
  tw_future_store_state (self, state);
  self->cancellable = NULL;
  if (cancel_requested != NULL)
    *cancel_requested = self->cancel_requested;

  /* Whatever the waiters' cancellables do now, they are answered below. */
  if (self->extra != NULL)
    {
      settling.waiters = g_steal_pointer (&self->extra->waiters);
      for (const GSList *l = settling.waiters; l != NULL; l = l->next)
        ((TwWaiter *)l->data)->done = TRUE;
    }
  settling.future = g_object_ref (self);
  settling.owner = g_steal_pointer (&self->owner);
  settling.dependents = g_steal_pointer (&self->dependents);

  /* A broadcast is a syscall even when nobody waits: skip it then. */
  if (self->n_blocked > 0)
    g_cond_broadcast (&self->extra->cond);
  g_mutex_unlock (&self->lock);

  /* A dependent that settles a future (a chained task whose input failed)
   * queues the rest of that settling, which the outermost settle on this
   * thread runs: a chain of any length settles in constant stack. */
  if (!tw_defer_begin ())
    {
      tw_defer_push (tw_future_finish_deferred, g_memdup2 (&settling, sizeof settling));
      return;
    }

  tw_future_finish_settling (&settling);
  tw_defer_end ();
}

/* Settles the future, exactly once: the first call wins, later calls
 * free their arguments and return %FALSE. */
static gboolean
tw_future_settle_internal (TwFuture *self,
                           GVariant *value,
                           GError   *error,
                           gboolean  only_if_pending,
                           gboolean *cancel_requested)
{
  g_mutex_lock (&self->lock);

  if (tw_future_state_is_settled (self->state) ||
      (only_if_pending && self->state != TW_FUTURE_STATE_PENDING))
    {
      if (cancel_requested != NULL)
        *cancel_requested = self->cancel_requested;
      g_mutex_unlock (&self->lock);
      g_clear_pointer (&value, g_variant_unref);
      g_clear_error (&error);
      return FALSE;
    }

  tw_future_settle_locked (self, value, error, cancel_requested);

  return TRUE;
}

/*
 * tw_future_settle:
 * @value: (transfer full) (nullable): the output
 * @error: (transfer full) (nullable): the failure, if @value is %NULL
 *
 * Settles the future, exactly once: the first call wins, later calls free
 * their arguments and return %FALSE.
 */
gboolean
tw_future_settle (TwFuture *self,
                  GVariant *value,
                  GError   *error)
{
  return tw_future_settle_internal (self, value, error, FALSE, NULL);
}

/*
 * tw_future_settle_run:
 * @cancel_requested: (out): whether tw_future_cancel() was called while
 *   the task ran
 *
 * Settles a task that its worker ran, like tw_future_settle(). When
 * @cancel_requested is %TRUE, tw_future_cancel() may not have cancelled
 * the worker's cancellable yet (it does so with no lock held), so the
 * worker must not reuse that cancellable for another task.
 */
gboolean
tw_future_settle_run (TwFuture *self,
                      GVariant *value,
                      GError   *error,
                      gboolean *cancel_requested)
{
  return tw_future_settle_internal (self, value, error, FALSE, cancel_requested);
}

/* Cancels a task that has not started, as a cancelling shutdown does. */
void
tw_future_cancel_if_pending (TwFuture *self)
{
  GError *error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                       "The troupe was shut down before the task started");

  tw_future_settle_internal (self, NULL, error, TRUE, NULL);
}

/*
 * tw_future_add_dependent:
 *
 * Calls @func once the future settles, on the settling thread; at once,
 * on this thread, if it has settled already.
 */
void
tw_future_add_dependent (TwFuture              *self,
                         TwFutureDependentFunc  func,
                         gpointer               user_data)
{
  TwDependent *dependent = g_new (TwDependent, 1);
  gboolean settled;

  dependent->func = func;
  dependent->user_data = user_data;

  g_mutex_lock (&self->lock);
  settled = tw_future_state_is_settled (self->state);
  if (!settled)
    {
      dependent->next = self->dependents;
      self->dependents = g_steal_pointer (&dependent);
    }
  g_mutex_unlock (&self->lock);

  if (settled)
    {
      g_free (dependent);
      func (self, user_data);
    }
}

/* Only valid once the future has settled: value and error never change then. */
GVariant *
tw_future_peek_value (TwFuture *self)
{
  TwFutureState state = tw_future_load_state (self);

  g_assert (tw_future_state_is_settled (state));

  return state == TW_FUTURE_STATE_SUCCEEDED ? self->outcome.value : NULL;
}

GError *
tw_future_dup_error (TwFuture *self)
{
  TwFutureState state = tw_future_load_state (self);

  g_assert (tw_future_state_is_settled (state));

  return state != TW_FUTURE_STATE_SUCCEEDED ? g_error_copy (self->outcome.error) : NULL;
}

/**
 * tw_future_cancel:
 * @self: a #TwFuture
 *
 * Cancels the task. A task that has not started is removed from its
 * troupe's queue and fails with %G_IO_ERROR_CANCELLED at once; the worker
 * never sees it. For a running task, the worker's #GCancellable is
 * triggered: a worker that polls it may stop early and fail with
 * %G_IO_ERROR_CANCELLED, but the task ends with whatever the worker
 * returns. A settled future does not change.
 *
 * The #GCancellable::cancelled handlers of the worker run in the calling
 * thread, with no lock of the library held: they may use this future,
 * cancel others and submit more tasks.
 *
 * Cancelling a future does not cancel the future it was chained to.
 *
 * Since: 1.0
 */
void
tw_future_cancel (TwFuture *self)
{
  g_autoptr(GCancellable) to_cancel = NULL;
  gboolean removed = FALSE;

  g_return_if_fail (TW_IS_FUTURE (self));

  g_mutex_lock (&self->lock);

  if (self->state == TW_FUTURE_STATE_PENDING)
    {
      /* Under the lock, so the owner cannot start it in between. A worker
       * that has popped it already sees the settled state and skips it;
       * one that holds it dispatched is woken through its cancellable. */
      if (self->owner != NULL)
        removed = self->owner->funcs->cancel_pending (self->owner);
      if (self->cancellable != NULL)
        to_cancel = g_object_ref (self->cancellable);
      tw_future_settle_locked (self, NULL,
                               g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                    "The task was cancelled"),
                               NULL);
    }
  else
    {
      if (self->state == TW_FUTURE_STATE_RUNNING && self->cancellable != NULL &&
          !self->cancel_requested)
        {
          self->cancel_requested = TRUE;
          to_cancel = g_object_ref (self->cancellable);
        }
      g_mutex_unlock (&self->lock);
    }

  /* With no lock held: ::cancelled handlers are user code. A worker that
   * finishes the task meanwhile learns of cancel_requested as it settles
   * it (tw_future_settle_run()), and does not reuse this cancellable. */
  if (to_cancel != NULL)
    g_cancellable_cancel (to_cancel);

  if (removed)
    g_object_unref (self);  /* the queue's reference */
}
