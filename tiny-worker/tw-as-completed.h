/* tw-as-completed.h
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

#include "tw-future.h"
#include "tw-version-macros.h"

G_BEGIN_DECLS

/**
 * TwAsCompleted:
 *
 * A set of futures that hands them out in the order they settle, as a
 * #GListModel and through tw_as_completed_next(). All its fields are
 * private.
 *
 * Since: 1.0
 */
#define TW_TYPE_AS_COMPLETED (tw_as_completed_get_type ())

TW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (TwAsCompleted, tw_as_completed, TW, AS_COMPLETED, GObject)

TW_AVAILABLE_IN_1_0
TwAsCompleted *tw_as_completed_new           (TwFuture * const     *futures,
                                              guint                 n_futures) G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
void           tw_as_completed_add           (TwAsCompleted        *self,
                                              TwFuture             *future);
TW_AVAILABLE_IN_1_0
guint          tw_as_completed_get_n_pending (TwAsCompleted        *self);
TW_AVAILABLE_IN_1_0
TwFuture      *tw_as_completed_next          (TwAsCompleted        *self,
                                              gint64                timeout_usec,
                                              GError              **error) G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
void           tw_as_completed_next_async    (TwAsCompleted        *self,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
TW_AVAILABLE_IN_1_0
TwFuture      *tw_as_completed_next_finish   (TwAsCompleted        *self,
                                              GAsyncResult         *result,
                                              GError              **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
