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
#include "tw-pool-private.h"

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

TwFuture *_tw_future_new           (void);
void      _tw_future_bind_pool      (TwFuture               *self,
                                     TwPool                 *pool);
TwPool   *_tw_future_dup_pool       (TwFuture               *self);
gboolean  _tw_future_settle         (TwFuture               *self,
                                     GVariant               *value,
                                     GError                 *error);
gboolean  _tw_future_start          (TwFuture               *self,
                                     GCancellable           *cancellable);
gboolean  _tw_future_dispatch       (TwFuture               *self,
                                     GCancellable           *cancellable);
void      _tw_future_cancel_if_pending (TwFuture            *self);
gboolean  _tw_future_get_cancel_requested (TwFuture         *self);
void      _tw_future_set_progress   (TwFuture               *self,
                                     gdouble                 fraction,
                                     const char             *message);
void      _tw_future_set_cancellable (TwFuture              *self,
                                      GCancellable          *cancellable);
void      _tw_future_add_dependent  (TwFuture               *self,
                                     TwFutureDependentFunc   func,
                                     gpointer                user_data);
GVariant *_tw_future_get_value      (TwFuture               *self);
gboolean  _tw_futures_are_valid     (TwFuture * const       *futures,
                                     guint                   n_futures);
GError   *_tw_future_dup_error      (TwFuture               *self);

/* The pool's bookkeeping fields of a task, protected by the pool's lock. */
GList    *_tw_future_get_link       (TwFuture               *self);
GQueue  **_tw_future_get_queue_slot (TwFuture               *self);
GVariant **_tw_future_get_input_slot (TwFuture              *self);
void      _tw_future_set_chunk      (TwFuture               *self);
gboolean  _tw_future_is_chunk       (TwFuture               *self);

G_END_DECLS
