/* tw-thread-runner.c
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
#include "tw-thread-runner-private.h"
#include "tw-wire-private.h"
#include "tw-worker-factory-private.h"
#include "tw-worker-private.h"

/*
 * The serving loop of a thread in %TW_TROUPE_MODE_THREAD. Everything here
 * runs on that pool thread, which owns its worker from setup to teardown
 * and runs user code with no lock held.
 */

typedef struct
{
  /* All owned by the serving thread. */
  TwPool                 *pool;
  const TwWorkerFactory  *factory;
  gpointer                worker;       /* NULL until set up, or after its setup failed */
  GCancellable           *cancellable;  /* the running task's; replaced once cancelled */
  TwFuture               *current;      /* the running task, for its progress */
} TwThreadRunner;

/* Both modes take and give the same values: none nested deeper than a
 * worker process can read. A basic value, the common case, is not nested
 * at all: it needs no walk of its type. */
static gboolean
tw_thread_runner_check_value (GVariant  *value,
                              GError   **error)
{
  return !g_variant_is_container (value) || tw_wire_check_depth (value, error);
}

static void
tw_thread_runner_progress_cb (gdouble     fraction,
                              const char *message,
                              gpointer    data)
{
  TwThreadRunner *self = data;

  if (self->current != NULL)
    tw_future_set_progress (self->current, fraction, message);
}

/* Runs one started task on this thread's worker, setting it up first if
 * needed, and settles it. A worker whose setup failed fails the task with
 * the setup error; the next attempt or task tries a new worker. Returns
 * whether tw_future_cancel() was called on the task: it may still be
 * about to cancel the cancellable, which must then not be reused. */
static gboolean
tw_thread_runner_run (TwThreadRunner   *self,
                      const TwPoolItem *item)
{
  GError *error = NULL;
  GVariant *result = NULL;
  gboolean cancel_requested;

  tw_pool_watch (self->pool, item->future);

  for (guint attempt = 0; ; attempt++)
    {
      if (self->worker == NULL)
        self->worker = tw_worker_factory_new_worker (self->factory, self->cancellable, &error);

      if (self->worker != NULL)
        {
          self->current = item->future;
          result = tw_worker_factory_call (self->factory, self->worker, item->input,
                                           item->chunk, self->cancellable, &error);
          self->current = NULL;

          /* What a worker process could not send fails here too. */
          if (result != NULL && !tw_thread_runner_check_value (result, &error))
            g_clear_pointer (&result, g_variant_unref);
        }

      if (result != NULL || !tw_pool_should_retry (self->pool, error, attempt))
        break;
      g_clear_error (&error);
    }

  g_assert ((result == NULL) != (error == NULL));

  tw_future_settle_run (item->future, result, error, &cancel_requested);

  return cancel_requested;
}

static void
tw_thread_runner_serve (TwPool   *pool,
                        gpointer  data)
{
  TwThreadRunner self = { pool, data, NULL, g_cancellable_new (), NULL };
  TwProgressSink sink = { tw_thread_runner_progress_cb, &self };
  GError *setup_error = NULL;
  TwPoolItem item;

  tw_worker_set_progress_sink (&sink);

  /* Set up before the first task, so the first one does not pay for it. */
  self.worker = tw_worker_factory_new_worker (self.factory, self.cancellable, &setup_error);
  if (self.worker == NULL)
    g_clear_error (&setup_error);  /* retried, and reported, with the first task */

  while (tw_pool_pop_task (pool, NULL, &item))
    {
      gboolean cancel_requested = FALSE;

      if (tw_future_start (item.future, self.cancellable))
        cancel_requested = tw_thread_runner_run (&self, &item);

      g_variant_unref (item.input);
      g_object_unref (item.future);

      /* A cancelled task leaves its cancellable cancelled: start afresh. */
      if (cancel_requested || g_cancellable_is_cancelled (self.cancellable))
        {
          g_object_unref (self.cancellable);
          self.cancellable = g_cancellable_new ();
        }
    }

  if (self.worker != NULL)
    tw_worker_factory_free_worker (self.factory, self.worker);
  tw_worker_set_progress_sink (NULL);
  g_object_unref (self.cancellable);
}

const TwPoolRunner tw_thread_runner = {
  .check_input = tw_thread_runner_check_value,
  .serve = tw_thread_runner_serve,
};
