/* tw-watchdog.c
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

#include "tw-watchdog-private.h"

typedef struct
{
  TwFuture *future;                  /* owned */
  gint64    deadline;
} TwWatch;

struct _TwWatchdog
{
  gatomicrefcount  ref_count;   /* the owner's and the thread's */

  /* Read-only after tw_watchdog_new(). */
  gint64           timeout;     /* µs a task may run */
  GThread         *thread;

  /* Protected by lock. */
  GMutex           lock;
  GCond            cond;        /* a task is watched, or the watchdog stops */
  GQueue           watched;     /* TwWatch, earliest deadline first */
  gboolean         stopping;
  gboolean         joined;
};

void
tw_watchdog_unref (TwWatchdog *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  g_assert (self->watched.length == 0);
  g_clear_pointer (&self->thread, g_thread_unref);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_free (self);
}

static gpointer
tw_watchdog_thread (gpointer data)
{
  TwWatchdog *self = data;
  TwWatch *watch;

  g_mutex_lock (&self->lock);

  while (!self->stopping)
    {
      watch = g_queue_peek_head (&self->watched);
      if (watch == NULL)
        g_cond_wait (&self->cond, &self->lock);
      else if (g_get_monotonic_time () < watch->deadline)
        g_cond_wait_until (&self->cond, &self->lock, watch->deadline);
      else
        {
          g_queue_pop_head (&self->watched);
          g_mutex_unlock (&self->lock);

          /* With no lock held: it runs ::cancelled handlers. */
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

  tw_watchdog_unref (self);

  return NULL;
}

/* Starts the thread; @timeout is the µs a task may run. */
TwWatchdog *
tw_watchdog_new (gint64 timeout)
{
  TwWatchdog *self = g_new0 (TwWatchdog, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->timeout = timeout;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->watched);
  g_atomic_ref_count_inc (&self->ref_count);  /* the thread's */
  self->thread = g_thread_new ("tw-watchdog", tw_watchdog_thread, self);

  return self;
}

/* Starts the timeout of a task that begins to run. Tasks start in
 * order, and all have the same timeout, so the queue stays sorted. */
void
tw_watchdog_watch (TwWatchdog *self,
                   TwFuture   *future)
{
  TwWatch *watch = g_new (TwWatch, 1);

  watch->future = g_object_ref (future);
  watch->deadline = g_get_monotonic_time () + self->timeout;

  g_mutex_lock (&self->lock);
  g_queue_push_tail (&self->watched, watch);
  if (self->watched.length == 1)
    g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);
}

/* Stops the thread, and joins it if @join, unless this is that thread
 * (the last task it cancelled may drop the owner's last reference). A
 * thread not joined exits on its own. Safe to call more than once. */
void
tw_watchdog_stop (TwWatchdog *self,
                  gboolean    join)
{
  g_mutex_lock (&self->lock);
  self->stopping = TRUE;
  g_cond_broadcast (&self->cond);
  join = join && !self->joined && g_thread_self () != self->thread;
  if (join)
    self->joined = TRUE;
  g_mutex_unlock (&self->lock);

  if (join)
    g_thread_join (g_thread_ref (self->thread));
}
