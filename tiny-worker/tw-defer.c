/* tw-defer.c
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

typedef struct
{
  TwDeferFunc  func;
  gpointer     data;
} TwDeferred;

/* This thread's: whether it is in tw_defer_begin() .. tw_defer_end(), and
 * the work queued meanwhile. */
typedef struct
{
  gboolean  active;
  GQueue    queue;     /* TwDeferred */
} TwDeferQueue;

static GPrivate defer_queue_key = G_PRIVATE_INIT (g_free);

static TwDeferQueue *
tw_defer_get_queue (void)
{
  TwDeferQueue *queue = g_private_get (&defer_queue_key);

  if (queue == NULL)
    {
      queue = g_new0 (TwDeferQueue, 1);
      g_private_set (&defer_queue_key, queue);
    }

  return queue;
}

/* Returns %TRUE if this thread was not running deferrable work: the
 * caller does its work, then calls tw_defer_end(). %FALSE means it is
 * nested in such work, and must tw_defer_push() it instead. */
gboolean
tw_defer_begin (void)
{
  TwDeferQueue *queue = tw_defer_get_queue ();

  if (queue->active)
    return FALSE;

  queue->active = TRUE;
  return TRUE;
}

/* Queues @func to run in the outer tw_defer_end() of this thread. */
void
tw_defer_push (TwDeferFunc func,
               gpointer    data)
{
  TwDeferQueue *queue = g_private_get (&defer_queue_key);
  TwDeferred *deferred = g_new (TwDeferred, 1);

  g_assert (queue != NULL && queue->active);

  deferred->func = func;
  deferred->data = data;
  g_queue_push_tail (&queue->queue, deferred);
}

/* Runs the work queued since tw_defer_begin(), and whatever that queues,
 * in order, until none is left. */
void
tw_defer_end (void)
{
  TwDeferQueue *queue = g_private_get (&defer_queue_key);
  TwDeferred *deferred;

  g_assert (queue != NULL && queue->active);

  while ((deferred = g_queue_pop_head (&queue->queue)) != NULL)
    {
      deferred->func (deferred->data);
      g_free (deferred);
    }

  queue->active = FALSE;
}
