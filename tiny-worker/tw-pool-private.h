/* tw-pool-private.h
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

#pragma once

#ifndef TW_COMPILATION
# error "This header is private to tiny-worker."
#endif

#include <gio/gio.h>

#include "tw-troupe.h"

G_BEGIN_DECLS

typedef struct _TwPool TwPool;

/* What each pool thread runs: a runner's serve function pops tasks with
 * tw_pool_pop_task() and settles them until that returns %FALSE. Its
 * functions are called on the pool's threads; @data is shared by all of
 * them and must only be read. */
typedef struct
{
  /* Refuses inputs the workers cannot take, at submit. Optional. */
  gboolean  (*check_input) (GVariant      *input,
                            GError       **error);
  void      (*serve)       (TwPool        *pool,
                            gpointer       data);
} TwPoolRunner;

/* A task taken from the queue: the runner owns both references. */
typedef struct
{
  TwFuture  *future;
  GVariant  *input;
  gboolean   chunk;    /* input is an array to run element by element */
} TwPoolItem;

/* The state of the queue, for a runner that decides whether to take
 * another task while it has some in flight. */
typedef struct
{
  guint  n_queued;
  guint  n_idle;       /* threads waiting for a task */
  guint  n_workers;
} TwPoolLoad;

/* Called with the pool's lock held; must not call back into the pool. */
typedef gboolean (*TwPoolTakeFunc) (const TwPoolLoad *load);

typedef void (*TwPoolNotifyFunc) (GObject *owner);  /* a TwNotifierFunc */

TwPool   *tw_pool_new              (const TwPoolRunner *runner,
                                    gpointer            data,
                                    GDestroyNotify      data_destroy,
                                    guint               n_workers,
                                    GMainContext       *context,
                                    GObject            *owner,
                                    TwPoolNotifyFunc    notify_func);
TwPool   *tw_pool_ref              (TwPool             *self);
void      tw_pool_unref            (TwPool             *self);
TwFuture *tw_pool_submit           (TwPool             *self,
                                    GVariant           *input,
                                    gboolean            chunk);
void      tw_pool_submit_async     (TwPool             *self,
                                    GVariant           *input,
                                    GTask              *task);
void      tw_pool_set_max_queued   (TwPool             *self,
                                    guint               max_queued);
TwFuture *tw_pool_submit_future    (TwPool             *self,
                                    TwFuture           *input,
                                    gboolean            chunk);
gboolean  tw_pool_pop_task         (TwPool             *self,
                                    TwPoolTakeFunc      take,
                                    TwPoolItem         *item);
gboolean  tw_pool_is_cancelling    (TwPool             *self);
GCancellable *tw_pool_get_stop_cancellable (TwPool         *self);
void      tw_pool_set_limits       (TwPool             *self,
                                    gint64              task_timeout,
                                    guint               max_retries);
void      tw_pool_watch            (TwPool             *self,
                                    TwFuture           *future);
gboolean  tw_pool_should_retry     (TwPool             *self,
                                    const GError       *error,
                                    guint               attempt);
void      tw_pool_forget_owner     (TwPool             *self);
void      tw_pool_shutdown         (TwPool             *self,
                                    TwShutdownMode      mode);
void      tw_pool_get_counters     (TwPool             *self,
                                    guint              *n_queued,
                                    guint              *n_running,
                                    guint              *n_succeeded,
                                    guint              *n_failed,
                                    guint              *n_cancelled);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TwPool, tw_pool_unref)

G_END_DECLS
