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

#include "tw-future-private.h"
#include "tw-notifier-private.h"
#include "tw-troupe.h"
#include "tw-watchdog-private.h"

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

/* The rest is for tw-pool.c, which runs, counts and stops tasks, and
 * tw-pool-submit.c, which lets them in. */

struct _TwPool
{
  gatomicrefcount     ref_count;

  /* Read-only after tw_pool_new(). */
  const TwPoolRunner *runner;
  gpointer            data;          /* the runner's data, shared by all threads */
  GDestroyNotify      data_destroy;  /* called once the threads are gone */
  guint               n_workers;
  TwNotifier         *notifier;      /* tells the troupe of counter changes */

  /* Protected by lock. */
  GMutex              lock;
  GCond               work_cond;     /* a task was queued, or the pool stops */
  GCond               idle_cond;     /* outstanding reached 0, or the threads were joined */
  GQueue              queue;         /* TwPoolTask.link ready to run; each holds a ref on its future */
  GQueue              waiting;       /* TwPoolTask.link chained to an unsettled input; likewise */
  guint               max_queued;    /* submits wait while queue has this many; 0: never */
  GCond               space_cond;    /* room in the queue, or closing */
  guint               n_blocked;     /* submitters waiting on space_cond */
  GQueue              blocked_async; /* TwWaiter: async submits waiting for room, oldest first */
  GPtrArray          *threads;       /* GThread, until joined */
  guint               n_idle;        /* threads waiting on work_cond */
  guint               n_woken;       /* of those, signalled and not yet running */
  guint               n_spinning;    /* threads polling wake_seq before they sleep */
  guint               closing : 1;   /* submits fail from now on */
  guint               stopping : 1;  /* threads exit once the queue is empty */
  guint               stopped : 1;   /* the threads were joined */
  guint               detached : 1;  /* shut down from its own thread: nobody joins */
  GCancellable       *stop;          /* cancelled when the threads must stop */

  /* Read-only once a task is queued (see tw_pool_set_limits()). */
  TwWatchdog         *watchdog;      /* cancels tasks that run too long, or NULL */
  guint               max_retries;   /* extra attempts for a failed task */

  /* Atomic: bumped once a task is queued or the threads must stop, for
   * polling threads to look again. */
  gint                wake_seq;

  /* Protected by lock: records taken from free_tasks in one go. */
  gpointer            taken_tasks;   /* TwPoolTask, linked by link.next */

  /* Atomic, so that settling a task takes no lock. outstanding only
   * grows under lock, while the pool is not closing. Apart from the
   * lock's cache line: the threads that settle write them all the time. */
  char                padding[64];
  gint                outstanding;   /* tasks submitted and not settled */
  gint                n_running;     /* popped by a runner and not settled;
                                      * grows under lock */
  gint                n_succeeded;
  gint                n_failed;
  gint                n_cancelled;
  gint                cancelling;    /* shut down with CANCEL_PENDING */

  /* Atomic: freed task records, reused so that a task costs no allocation
   * of its own. Pushed by any thread, emptied only with lock held. */
  gpointer            free_tasks;    /* TwPoolTask, linked by link.next */
};

typedef enum
{
  TW_POOL_TASK_OUT,       /* taken by a runner, or settled */
  TW_POOL_TASK_QUEUED,    /* in TwPool.queue */
  TW_POOL_TASK_WAITING,   /* in TwPool.waiting */
} TwPoolTaskPlace;

/* The pool's record of one task, and the owner of its future. It lives
 * until the future has settled and, for a chained task, the input has
 * settled too. Kept small: a million pending tasks have a million. */
typedef struct
{
  TwFutureOwner    owner;      /* first: the future sees only this */

  /* Protected by the pool's lock, while the record is in use. */
  GList            link;       /* data is the future, which owns the record;
                                * a freed record is linked by next */
  GVariant        *input;      /* until a worker takes it */
  guint8           place;      /* TwPoolTaskPlace */
  guint8           chunk;      /* input is an array to run element by element */
  guint8           popped;     /* a runner took it: it counts as running */

  /* Set under the future's and the pool's lock as the future is cancelled
   * in a queue, and read once it has settled. */
  guint8           unqueued;   /* it left room in the queue */

  gatomicrefcount  ref_count;  /* the future's, and a chained task's input's */
  TwPool          *pool;       /* owned */
} TwPoolTask;

#define TW_POOL_TASK_FROM_LINK(l) \
  ((TwPoolTask *)(gpointer)((char *)(l) - G_STRUCT_OFFSET (TwPoolTask, link)))

void        tw_pool_bump_wake_seq        (TwPool     *self);
gboolean    tw_pool_has_room_locked      (TwPool     *self);
TwPoolTask *tw_pool_new_task_locked      (TwPool     *self,
                                          TwFuture   *future);
gboolean    tw_pool_enqueue_locked       (TwPool     *self,
                                          TwPoolTask *task,
                                          GVariant   *input);
gboolean    tw_pool_unlink_locked        (TwPool     *self,
                                          TwPoolTask *task);
void        tw_pool_task_unref           (TwPoolTask *task);
void        tw_pool_make_room_locked     (TwPool     *self,
                                          GQueue     *answered);
void        tw_pool_answer_blocked       (GQueue     *answered);
TwFuture   *tw_pool_new_shut_down_future (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TwPool, tw_pool_unref)

G_END_DECLS
