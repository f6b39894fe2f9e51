/* tw-as-completed.c
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

#include "tw-as-completed.h"
#include "tw-future-private.h"
#include "tw-waiter-private.h"

/**
 * SECTION:tw-as-completed
 * @title: TwAsCompleted
 * @short_description: Consume futures in the order they settle
 *
 * A #TwAsCompleted watches a set of futures and hands each one out once
 * it has settled, the quickest first, whether it succeeded, failed or was
 * cancelled. It offers two views of the same order, which do not affect
 * each other:
 *
 * - It is a #GListModel of the settled futures, appended in the order
 *   they settled, to bind to a list widget. Its #GListModel::items-changed
 *   signal and the #GObject::notify signals of its properties are emitted
 *   in the thread-default #GMainContext of the thread that created it,
 *   never on a worker thread; several futures that settle before that
 *   context runs are announced by one signal. Futures that had settled
 *   before tw_as_completed_new() returned are in the model from the start.
 *
 * - tw_as_completed_next() and tw_as_completed_next_async() return each
 *   settled future once, like an iterator, and need no main loop. When
 *   every future added has been returned, they return %NULL without an
 *   error.
 *
 * |[<!-- language="C" -->
 * g_autoptr(TwAsCompleted) done = tw_as_completed_new ((TwFuture **)futures->pdata,
 *                                                      futures->len);
 * g_autoptr(GError) error = NULL;
 * TwFuture *future;
 *
 * while ((future = tw_as_completed_next (done, -1, &error)) != NULL)
 *   {
 *     g_autoptr(GVariant) value = tw_future_wait (future, 0, &error);
 *
 *     if (value == NULL)
 *       g_printerr ("a task failed: %s\n", error->message);
 *     g_clear_error (&error);
 *     g_object_unref (future);
 *   }
 * ]|
 *
 * In Python, `Tw.as_completed(futures)` yields the futures as they
 * settle, and `troupe.map_unordered(inputs)` their values. In GJS, the
 * tiny-worker module makes every #TwAsCompleted an async iterable:
 * `for await (const value of done)` gives the values, and
 * `done.futures()` the settled futures.
 *
 * A #TwAsCompleted holds a reference on every future added to it, and
 * each future that has not settled holds a reference on the
 * #TwAsCompleted until it does.
 */

struct _TwAsCompleted
{
  GObject        parent_instance;

  /* Read-only after construction. */
  GMainContext  *context;         /* where items-changed and notify are emitted */

  /* Protected by lock. settled only grows, so an index once valid stays so. */
  GMutex         lock;
  GCond          cond;            /* broadcast when a future settles */
  guint          n_blocked;       /* threads blocked in tw_as_completed_next() */
  GPtrArray     *settled;         /* TwFuture, owned: in the order they settled */
  guint          n_pending;       /* futures added and not settled yet */
  guint          n_returned;      /* settled[0 .. n_returned) were handed out by next */
  GQueue         waiters;         /* TwWaiter: async nexts still to answer, oldest first */
  guint          n_items;         /* settled[0 .. n_items) are the model's items */
  guint          n_pending_notified; /* n_pending as of the last notify */
  GSource       *update_source;   /* the pending model update, or NULL */
};

enum {
  PROP_0,
  PROP_N_ITEMS,
  PROP_N_PENDING,
  N_PROPS
};

static GParamSpec *properties [N_PROPS];

static void tw_as_completed_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TwAsCompleted, tw_as_completed, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      tw_as_completed_list_model_init))

static GType
tw_as_completed_get_item_type (GListModel *model)
{
  return TW_TYPE_FUTURE;
}

static guint
tw_as_completed_get_n_items (GListModel *model)
{
  TwAsCompleted *self = TW_AS_COMPLETED (model);
  guint n_items;

  g_mutex_lock (&self->lock);
  n_items = self->n_items;
  g_mutex_unlock (&self->lock);

  return n_items;
}

static gpointer
tw_as_completed_get_item (GListModel *model,
                          guint       position)
{
  TwAsCompleted *self = TW_AS_COMPLETED (model);
  TwFuture *future = NULL;

  g_mutex_lock (&self->lock);
  if (position < self->n_items)
    future = g_object_ref (g_ptr_array_index (self->settled, position));
  g_mutex_unlock (&self->lock);

  return future;
}

static void
tw_as_completed_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = tw_as_completed_get_item_type;
  iface->get_n_items = tw_as_completed_get_n_items;
  iface->get_item = tw_as_completed_get_item;
}

static void
tw_as_completed_dispose (GObject *object)
{
  TwAsCompleted *self = (TwAsCompleted *)object;
  GSource *update_source;

  /* The pending update holds only a weak reference: drop it, so that a
   * context that never runs does not keep it forever. */
  g_mutex_lock (&self->lock);
  update_source = g_steal_pointer (&self->update_source);
  g_mutex_unlock (&self->lock);

  if (update_source != NULL)
    {
      g_source_destroy (update_source);
      g_source_unref (update_source);
    }

  G_OBJECT_CLASS (tw_as_completed_parent_class)->dispose (object);
}

static void
tw_as_completed_finalize (GObject *object)
{
  TwAsCompleted *self = (TwAsCompleted *)object;

  /* Every pending future and every async next holds a reference. */
  g_assert (self->n_pending == 0);
  g_assert (g_queue_is_empty (&self->waiters));
  g_assert (self->update_source == NULL);

  g_clear_pointer (&self->settled, g_ptr_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);

  G_OBJECT_CLASS (tw_as_completed_parent_class)->finalize (object);
}

static void
tw_as_completed_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  TwAsCompleted *self = TW_AS_COMPLETED (object);

  switch (prop_id)
    {
    case PROP_N_ITEMS:
      g_value_set_uint (value, g_list_model_get_n_items (G_LIST_MODEL (self)));
      break;

    case PROP_N_PENDING:
      g_value_set_uint (value, tw_as_completed_get_n_pending (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tw_as_completed_class_init (TwAsCompletedClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = tw_as_completed_dispose;
  object_class->finalize = tw_as_completed_finalize;
  object_class->get_property = tw_as_completed_get_property;

  /**
   * TwAsCompleted:n-items:
   *
   * The number of items in the model: the settled futures that the
   * #GListModel::items-changed signals have announced so far. It changes,
   * and is notified, in the main context that was thread-default when
   * the #TwAsCompleted was created, right after
   * #GListModel::items-changed.
   *
   * Since: 1.0
   */
  properties [PROP_N_ITEMS] =
    g_param_spec_uint ("n-items", "Items", "Settled futures in the model",
                       0, G_MAXUINT, 0,
                       (G_PARAM_READABLE |
                        G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS));

  /**
   * TwAsCompleted:n-pending:
   *
   * The number of futures added that have not settled yet. Reading it
   * gives the current count, from any thread; its #GObject::notify signal
   * is emitted in the main context that was thread-default when the
   * #TwAsCompleted was created, and several changes before that context
   * runs are notified once. A future that has settled but is not in the
   * model yet counts neither here nor in #TwAsCompleted:n-items.
   *
   * Since: 1.0
   */
  properties [PROP_N_PENDING] =
    g_param_spec_uint ("n-pending", "Pending", "Futures added that have not settled",
                       0, G_MAXUINT, 0,
                       (G_PARAM_READABLE |
                        G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tw_as_completed_init (TwAsCompleted *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->waiters);
  self->settled = g_ptr_array_new_with_free_func (g_object_unref);
  self->context = g_main_context_ref_thread_default ();
}

/* Runs in self->context: publishes what settled since the last update. */
static gboolean
tw_as_completed_update_cb (gpointer user_data)
{
  g_autoptr(TwAsCompleted) self = g_weak_ref_get (user_data);
  GSource *update_source;
  guint old_n_items;
  guint n_added;
  gboolean pending_changed;

  if (self == NULL)
    return G_SOURCE_REMOVE;

  g_mutex_lock (&self->lock);
  update_source = g_steal_pointer (&self->update_source);
  old_n_items = self->n_items;
  n_added = self->settled->len - old_n_items;
  self->n_items = self->settled->len;
  pending_changed = self->n_pending != self->n_pending_notified;
  self->n_pending_notified = self->n_pending;
  g_mutex_unlock (&self->lock);

  g_clear_pointer (&update_source, g_source_unref);

  if (n_added > 0)
    {
      g_list_model_items_changed (G_LIST_MODEL (self), old_n_items, 0, n_added);
      g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_N_ITEMS]);
    }

  if (pending_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_N_PENDING]);

  return G_SOURCE_REMOVE;
}

static void
tw_as_completed_weak_ref_free (gpointer data)
{
  g_weak_ref_clear (data);
  g_free (data);
}

/* Schedules one update of the model and the counts in self->context, if
 * none is pending. The source refers to self weakly: a context that never
 * runs must not keep the object and its futures alive. */
static void
tw_as_completed_schedule_update (TwAsCompleted *self)
{
  GWeakRef *weak_ref;
  GSource *source;

  g_mutex_lock (&self->lock);
  if (self->update_source != NULL)
    {
      g_mutex_unlock (&self->lock);
      return;
    }

  weak_ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (weak_ref, self);

  source = g_idle_source_new ();
  g_source_set_static_name (source, "[tw] as-completed update");
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, tw_as_completed_update_cb,
                         weak_ref, tw_as_completed_weak_ref_free);
  self->update_source = source;
  g_mutex_unlock (&self->lock);

  /* update_source is set before the callback can run, and it stays
   * valid: only the callback and dispose clear it, and dispose cannot
   * run while our caller holds a reference. */
  g_source_attach (source, self->context);
}

static void
tw_as_completed_answer_waiters (GSList *answered)
{
  /* They were prepended: answer them in the order they asked. */
  answered = g_slist_reverse (answered);

  for (const GSList *l = answered; l != NULL; l = l->next)
    {
      TwWaiter *waiter = l->data;
      TwFuture *future = g_steal_pointer (&waiter->future);

      if (future != NULL)
        g_task_return_pointer (waiter->task, future, g_object_unref);
      else
        g_task_return_pointer (waiter->task, NULL, NULL);
    }

  g_slist_free_full (answered, tw_waiter_answered);
}

/* Called with the lock held: hands settled futures to the async waiters,
 * oldest first, and %NULL to all of them once everything was handed out.
 * Returns the waiters to answer once the lock is released. */
static GSList *
tw_as_completed_take_answered_locked (TwAsCompleted *self)
{
  GSList *answered = NULL;

  while (!g_queue_is_empty (&self->waiters) &&
         (self->n_returned < self->settled->len || self->n_pending == 0))
    {
      TwWaiter *waiter = g_queue_pop_head (&self->waiters);

      waiter->done = TRUE;
      if (self->n_returned < self->settled->len)
        waiter->future = g_object_ref (g_ptr_array_index (self->settled, self->n_returned++));
      answered = g_slist_prepend (answered, waiter);
    }

  return answered;
}

/* Runs once per future added, on the thread that settles it, with the
 * reference on @future taken by tw_as_completed_add_internal() and one on
 * @user_data. */
static void
tw_as_completed_future_settled_cb (TwFuture *future,
                                   gpointer  user_data)
{
  TwAsCompleted *self = user_data;
  GSList *answered;

  g_mutex_lock (&self->lock);
  g_assert (self->n_pending > 0);
  g_ptr_array_add (self->settled, future);
  self->n_pending--;
  answered = tw_as_completed_take_answered_locked (self);
  if (self->n_blocked > 0)
    g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  tw_as_completed_answer_waiters (answered);
  tw_as_completed_schedule_update (self);

  /* May be the last reference: finalizing on this thread is fine. */
  g_object_unref (self);
}

/* Counts @future pending, then watches it. If it has settled already, its
 * callback runs at once, on this thread. */
static void
tw_as_completed_add_internal (TwAsCompleted *self,
                              TwFuture      *future)
{
  g_mutex_lock (&self->lock);
  self->n_pending++;
  g_mutex_unlock (&self->lock);

  /* The callback moves the reference on @future into settled. */
  g_object_ref (future);
  tw_future_add_dependent (future, tw_as_completed_future_settled_cb,
                           g_object_ref (self));
}

/**
 * tw_as_completed_new:
 * @futures: (array length=n_futures): the futures to watch
 * @n_futures: how many there are
 *
 * Creates a #TwAsCompleted that hands out @futures in the order they
 * settle. Futures in @futures that have settled already come first, in
 * the order given, and are in the model at once. @futures is not
 * consumed: the #TwAsCompleted takes a reference of its own on each.
 *
 * Create it on the thread whose thread-default #GMainContext should
 * receive its signals.
 *
 * Returns: (transfer full): a new #TwAsCompleted
 *
 * Since: 1.0
 */
TwAsCompleted *
tw_as_completed_new (TwFuture * const *futures,
                     guint             n_futures)
{
  TwAsCompleted *self;

  g_return_val_if_fail (futures != NULL || n_futures == 0, NULL);
  g_return_val_if_fail (tw_futures_are_valid (futures, n_futures), NULL);

  self = g_object_new (TW_TYPE_AS_COMPLETED, NULL);

  for (guint i = 0; i < n_futures; i++)
    tw_as_completed_add_internal (self, futures[i]);

  /* Nobody can be watching yet: what has settled so far is the model's
   * starting content, and the update scheduled meanwhile, if any, finds
   * nothing to announce unless more settles before it runs. */
  g_mutex_lock (&self->lock);
  self->n_items = self->settled->len;
  self->n_pending_notified = self->n_pending;
  g_mutex_unlock (&self->lock);

  return self;
}

/**
 * tw_as_completed_add:
 * @self: a #TwAsCompleted
 * @future: (transfer none): a #TwFuture to watch as well
 *
 * Adds @future to the futures that @self hands out, taking a reference
 * on it. It comes out once it settles, or at the next turn if it has
 * settled already, even if every other future was handed out already.
 * A future added twice comes out twice. The model announces it, and
 * #TwAsCompleted:n-pending is notified, from @self's main context.
 *
 * Since: 1.0
 */
void
tw_as_completed_add (TwAsCompleted *self,
                     TwFuture      *future)
{
  g_return_if_fail (TW_IS_AS_COMPLETED (self));
  g_return_if_fail (TW_IS_FUTURE (future));

  tw_as_completed_add_internal (self, future);

  /* To notify n-pending, if the future has not settled. */
  tw_as_completed_schedule_update (self);
}

/**
 * tw_as_completed_get_n_pending:
 * @self: a #TwAsCompleted
 *
 * Gets the number of futures added to @self that have not settled yet.
 * Another thread may change it at any moment, as futures settle.
 *
 * Returns: the value of #TwAsCompleted:n-pending
 *
 * Since: 1.0
 */
guint
tw_as_completed_get_n_pending (TwAsCompleted *self)
{
  guint n_pending;

  g_return_val_if_fail (TW_IS_AS_COMPLETED (self), 0);

  g_mutex_lock (&self->lock);
  n_pending = self->n_pending;
  g_mutex_unlock (&self->lock);

  return n_pending;
}

/* Whether tw_as_completed_next() can return: a settled future is left
 * to hand out, or none is pending. */
static gboolean
tw_as_completed_can_return_locked (gpointer data)
{
  TwAsCompleted *self = data;

  return self->n_returned < self->settled->len || self->n_pending == 0;
}

/**
 * tw_as_completed_next:
 * @self: a #TwAsCompleted
 * @timeout_usec: how long to wait at most, in microseconds, 0 not to
 *   wait, or -1 to wait as long as it takes
 * @error: return location for a #GError
 *
 * Returns the first settled future that neither this function nor
 * tw_as_completed_next_async() has returned yet, blocking the calling
 * thread until there is one, or until @timeout_usec microseconds have
 * passed. Several threads may call it at once: each future goes to one
 * of them.
 *
 * This does not iterate any main context, and needs none running; do
 * not call it from a thread whose main loop must keep running, and use
 * tw_as_completed_next_async() there.
 *
 * Returns: (transfer full) (nullable): a settled future, which may have
 *   failed; or %NULL without an error when every future added has been
 *   returned; or %NULL with @error set to %G_IO_ERROR_TIMED_OUT
 *
 * Since: 1.0
 */
TwFuture *
tw_as_completed_next (TwAsCompleted  *self,
                      gint64          timeout_usec,
                      GError        **error)
{
  TwFuture *future = NULL;

  g_return_val_if_fail (TW_IS_AS_COMPLETED (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_mutex_lock (&self->lock);

  if (tw_wait_blocking (&self->cond, &self->lock, &self->n_blocked,
                        tw_as_completed_can_return_locked, self, timeout_usec,
                        "No future settled", error) &&
      self->n_returned < self->settled->len)
    future = g_object_ref (g_ptr_array_index (self->settled, self->n_returned++));

  g_mutex_unlock (&self->lock);

  return future;
}

/* Only this wait is abandoned: the future it would have got goes to the
 * next caller. */
static void
tw_as_completed_remove_waiter (TwWaiter *waiter,
                               gpointer  owner)
{
  TwAsCompleted *self = owner;

  g_queue_remove (&self->waiters, waiter);
}

/**
 * tw_as_completed_next_async:
 * @self: a #TwAsCompleted
 * @cancellable: (nullable): a #GCancellable to abandon the wait
 * @callback: (scope async) (nullable): called when a future is available,
 *   or when every future has been returned
 * @user_data: (closure): data for @callback
 *
 * Waits without blocking for the first settled future that neither this
 * function nor tw_as_completed_next() has returned yet. @callback runs in
 * the thread-default #GMainContext of the calling thread; call
 * tw_as_completed_next_finish() from it to get the future. Several waits
 * may be outstanding: they are answered in the order they were made.
 *
 * Cancelling @cancellable abandons this wait only: it fails with
 * %G_IO_ERROR_CANCELLED, the futures are left alone, and the one it
 * would have got goes to the next caller. A wait that got a future
 * before it was cancelled returns that future.
 *
 * Since: 1.0
 */
void
tw_as_completed_next_async (TwAsCompleted       *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  TwWaiter *waiter = NULL;
  TwFuture *future = NULL;
  gboolean exhausted = FALSE;

  g_return_if_fail (TW_IS_AS_COMPLETED (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tw_as_completed_next_async);
  g_task_set_name (task, "[tw] next settled future");
  /* Once a future is handed to this wait, it must reach the caller even
   * if the cancellable fires before the callback runs: it is nobody
   * else's now. The cancellation is checked by hand instead. */
  g_task_set_check_cancellable (task, FALSE);

  if (g_task_return_error_if_cancelled (task))
    return;

  g_mutex_lock (&self->lock);
  if (self->n_returned < self->settled->len)
    future = g_object_ref (g_ptr_array_index (self->settled, self->n_returned++));
  else if (self->n_pending == 0)
    exhausted = TRUE;
  else
    {
      waiter = tw_waiter_new (task, &self->lock, tw_as_completed_remove_waiter, self,
                              "The wait was cancelled");
      g_queue_push_tail (&self->waiters, tw_waiter_ref (waiter));
    }
  g_mutex_unlock (&self->lock);

  if (future != NULL)
    {
      g_task_return_pointer (task, future, g_object_unref);
      return;
    }

  if (exhausted)
    {
      g_task_return_pointer (task, NULL, NULL);
      return;
    }

  tw_waiter_watch_cancellable (waiter);
  tw_waiter_unref (waiter);
}

/**
 * tw_as_completed_next_finish:
 * @self: a #TwAsCompleted
 * @result: the #GAsyncResult given to the callback of
 *   tw_as_completed_next_async()
 * @error: return location for a #GError
 *
 * Completes tw_as_completed_next_async().
 *
 * Returns: (transfer full) (nullable): a settled future, which may have
 *   failed; or %NULL without an error when every future added has been
 *   returned; or %NULL with @error set to %G_IO_ERROR_CANCELLED if the
 *   wait was cancelled
 *
 * Since: 1.0
 */
TwFuture *
tw_as_completed_next_finish (TwAsCompleted  *self,
                             GAsyncResult   *result,
                             GError        **error)
{
  g_return_val_if_fail (TW_IS_AS_COMPLETED (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == tw_as_completed_next_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
