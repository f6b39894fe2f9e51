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

G_END_DECLS
