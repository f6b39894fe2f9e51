/* tw-future.h
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

#if !defined(TW_INSIDE) && !defined(TW_COMPILATION)
# error "Only <tiny-worker.h> can be included directly."
#endif

#include <gio/gio.h>

#include "tw-version-macros.h"

G_BEGIN_DECLS

/**
 * TwFutureState:
 * @TW_FUTURE_STATE_PENDING: the task waits for a worker, or for the future
 *   it was chained to
 * @TW_FUTURE_STATE_RUNNING: a worker is running the task
 * @TW_FUTURE_STATE_SUCCEEDED: the task returned a value
 * @TW_FUTURE_STATE_FAILED: the task failed with an error
 * @TW_FUTURE_STATE_CANCELLED: the task was cancelled; its error is
 *   %G_IO_ERROR_CANCELLED
 *
 * The states of a #TwFuture. A future moves forward only, and ends in
 * exactly one of the three settled states.
 *
 * Since: 1.0
 */
typedef enum
{
  TW_FUTURE_STATE_PENDING,
  TW_FUTURE_STATE_RUNNING,
  TW_FUTURE_STATE_SUCCEEDED,
  TW_FUTURE_STATE_FAILED,
  TW_FUTURE_STATE_CANCELLED,
} TwFutureState;

/**
 * TwFuture:
 *
 * The outcome of one task, which may not have settled yet. All its
 * fields are private; see the functions below.
 *
 * Since: 1.0
 */
#define TW_TYPE_FUTURE (tw_future_get_type ())

TW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (TwFuture, tw_future, TW, FUTURE, GObject)

/**
 * TwFutureCallback:
 * @future: the settled future
 * @user_data: (closure): the data given with the callback
 *
 * Continues a chain: called by tw_future_then(), tw_future_catch() or
 * tw_future_finally() once @future has settled, in the thread-default
 * #GMainContext of the thread that attached it, never on a worker thread.
 *
 * Returns: (transfer full) (nullable): a future whose outcome becomes the
 *   outcome of the chain — for example one returned by tw_troupe_submit(),
 *   or tw_future_new_for_value() — or %NULL to pass on @future's outcome
 *
 * Since: 1.0
 */
typedef TwFuture *(*TwFutureCallback) (TwFuture *future,
                                       gpointer  user_data);

TW_AVAILABLE_IN_1_0
TwFuture      *tw_future_new_for_value   (GVariant             *value) G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
TwFuture      *tw_future_new_for_error   (GError               *error) G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
TwFutureState  tw_future_get_state       (TwFuture             *self);
TW_AVAILABLE_IN_1_0
gboolean       tw_future_is_done         (TwFuture             *self);
TW_AVAILABLE_IN_1_0
gdouble        tw_future_get_progress    (TwFuture             *self);
TW_AVAILABLE_IN_1_0
char          *tw_future_dup_progress_message (TwFuture        *self);
TW_AVAILABLE_IN_1_0
GVariant      *tw_future_wait            (TwFuture             *self,
                                          gint64                timeout_usec,
                                          GError              **error);
TW_AVAILABLE_IN_1_0
void           tw_future_wait_async      (TwFuture             *self,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
TW_AVAILABLE_IN_1_0
GVariant      *tw_future_wait_finish     (TwFuture             *self,
                                          GAsyncResult         *result,
                                          GError              **error);
TW_AVAILABLE_IN_1_0
void           tw_future_cancel          (TwFuture             *self);

TW_AVAILABLE_IN_1_0
TwFuture      *tw_future_then            (TwFuture             *self,
                                          TwFutureCallback      callback,
                                          gpointer              user_data,
                                          GDestroyNotify        destroy) G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
TwFuture      *tw_future_and_then        (TwFuture             *self,
                                          TwFutureCallback      callback,
                                          gpointer              user_data,
                                          GDestroyNotify        destroy) G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
TwFuture      *tw_future_catch           (TwFuture             *self,
                                          TwFutureCallback      callback,
                                          gpointer              user_data,
                                          GDestroyNotify        destroy) G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
TwFuture      *tw_future_finally         (TwFuture             *self,
                                          TwFutureCallback      callback,
                                          gpointer              user_data,
                                          GDestroyNotify        destroy) G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
TwFuture      *tw_future_all             (TwFuture             *first,
                                          ...) G_GNUC_NULL_TERMINATED G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
TwFuture      *tw_future_allv            (TwFuture * const     *futures,
                                          guint                 n_futures) G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
TwFuture      *tw_future_any             (TwFuture             *first,
                                          ...) G_GNUC_NULL_TERMINATED G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
TwFuture      *tw_future_anyv            (TwFuture * const     *futures,
                                          guint                 n_futures) G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
TwFuture      *tw_future_first           (TwFuture             *first,
                                          ...) G_GNUC_NULL_TERMINATED G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
TwFuture      *tw_future_firstv          (TwFuture * const     *futures,
                                          guint                 n_futures) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
