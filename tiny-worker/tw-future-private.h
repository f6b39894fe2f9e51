/* tw-future-private.h
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

#include "tw-error.h"
#include "tw-future.h"

G_BEGIN_DECLS

/* Like g_return_val_if_fail(), for functions that return a future: the
 * future fails instead of being NULL. */
#define tw_return_error_if_fail(expr)                                         \
  G_STMT_START {                                                              \
    if G_LIKELY (expr) { } else                                               \
      {                                                                       \
        g_return_if_fail_warning (G_LOG_DOMAIN, G_STRFUNC, #expr);            \
        return tw_future_new_for_error (                                      \
            g_error_new (TW_ERROR, TW_ERROR_FAILED,                           \
                         "%s: assertion '%s' failed", G_STRFUNC, #expr));     \
      }                                                                       \
  } G_STMT_END

/* Called once, on the thread that settles the future, with no lock held. */
typedef void (*TwFutureDependentFunc) (TwFuture *future,
                                       gpointer  user_data);

/*
 * TwFutureOwner:
 *
 * How a future tells whoever created it (a pool, for its tasks) about its
 * life: the owner's record of the task starts with a TwFutureOwner, given
 * to tw_future_set_owner(). The future knows nothing else of its owner.
 */
typedef struct _TwFutureOwner TwFutureOwner;

typedef struct
{
  /* With the future's lock held, as tw_future_cancel() cancels a PENDING
   * future: takes the task out of the owner's queue and says whether it
   * did (the caller then owns the queue's reference on the future). It
   * may take the owner's own lock, never the future's, and runs no user
   * code. */
  gboolean (*cancel_pending) (TwFutureOwner  *owner);
  /* With the future's lock held, as it settles, before any waiter can see
   * that: counts the outcome. Lock-free; runs no user code. */
  void     (*count)          (TwFutureOwner  *owner,
                              TwFutureState   state);
  /* After the future settled and told its waiters, with no lock held:
   * releases the record. */
  void     (*settled)        (TwFutureOwner  *owner);
} TwFutureOwnerFuncs;

struct _TwFutureOwner
{
  const TwFutureOwnerFuncs *funcs;
};

TwFuture *tw_future_new             (void);
void      tw_future_set_owner       (TwFuture                 *self,
                                     TwFutureOwner            *owner);
gboolean  tw_future_settle          (TwFuture                 *self,
                                     GVariant                 *value,
                                     GError                   *error);
gboolean  tw_future_settle_run      (TwFuture                 *self,
                                     GVariant                 *value,
                                     GError                   *error,
                                     gboolean                 *cancel_requested);
gboolean  tw_future_start           (TwFuture                 *self,
                                     GCancellable             *cancellable);
gboolean  tw_future_dispatch        (TwFuture                 *self,
                                     GCancellable             *cancellable);
void      tw_future_cancel_if_pending (TwFuture               *self);
gboolean  tw_future_get_cancel_requested (TwFuture            *self);
void      tw_future_set_progress    (TwFuture                 *self,
                                     gdouble                   fraction,
                                     const char               *message);
void      tw_future_set_cancellable (TwFuture                 *self,
                                     GCancellable             *cancellable);
void      tw_future_add_dependent   (TwFuture                 *self,
                                     TwFutureDependentFunc     func,
                                     gpointer                  user_data);
GVariant *tw_future_peek_value      (TwFuture                 *self);
GError   *tw_future_dup_error       (TwFuture                 *self);
gboolean  tw_futures_are_valid      (TwFuture * const         *futures,
                                     guint                     n_futures);

/* The struct and what follows are for tw-future.c and tw-future-wait.c
 * only: the other files use the functions above. */

typedef struct _TwDependent TwDependent;

struct _TwDependent
{
  TwDependent           *next;
  TwFutureDependentFunc  func;
  gpointer               user_data;
};

/* What few futures use, kept out of TwFuture so that a pending task takes
 * less memory: allocated on first use, under the future's lock. */
typedef struct
{
  /* Read-only after construction. */
  GMainContext  *context;          /* where notify is emitted, if not the global default */

  /* Protected by the future's lock. */
  GCond          cond;             /* broadcast when the future settles */
  GSList        *waiters;          /* TwWaiter: async waits still to answer */
  gdouble        progress;         /* reported by the worker, 0 to 1 */
  char          *progress_message; /* reported by the worker, or NULL */
} TwFutureExtra;

struct _TwFuture
{
  GObject        parent_instance;

  /* Protected by lock. The outcome never changes once state is settled. */
  GMutex         lock;
  guint          n_blocked;    /* threads blocked in tw_future_wait() */
  guint8         state;        /* TwFutureState; also read atomically */
  guint8         cancel_requested; /* tw_future_cancel() was called while RUNNING */
  guint8         notify_pending;   /* property ids (as bits) to notify */
  union {
    GVariant    *value;        /* the output, when SUCCEEDED */
    GError      *error;        /* the failure, when FAILED or CANCELLED */
  } outcome;
  TwDependent   *dependents;   /* internal callbacks on settle, newest first */
  GCancellable  *cancellable;  /* the worker's cancellable, while RUNNING */
  TwFutureOwner *owner;        /* the owner's record of this task, until settled */
  TwFutureExtra *extra;        /* or NULL */
};

/* A slice size class: a million pending tasks hold a million of these. */
#if GLIB_SIZEOF_VOID_P == 8
G_STATIC_ASSERT (sizeof (TwFuture) == 80);
#endif

static inline gboolean
tw_future_state_is_settled (TwFutureState state)
{
  return state >= TW_FUTURE_STATE_SUCCEEDED;
}

/* state changes under the lock, and is also read without it (see
 * tw_future_wait()): a byte is not something g_atomic_int_*() handles. */
static inline void
tw_future_store_state (TwFuture      *self,
                       TwFutureState  state)
{
  __atomic_store_n (&self->state, (guint8)state, __ATOMIC_RELEASE);
}

static inline TwFutureState
tw_future_load_state (TwFuture *self)
{
  return __atomic_load_n (&self->state, __ATOMIC_ACQUIRE);
}

TwFutureExtra *tw_future_ensure_extra (TwFuture *self);
void           tw_future_return_task  (TwFuture *self,
                                       GTask    *task);

G_END_DECLS
