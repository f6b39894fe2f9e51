/* tw-troupe.h
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

#include "tw-as-completed.h"
#include "tw-future.h"
#include "tw-version-macros.h"

G_BEGIN_DECLS

/**
 * TwTroupeMode:
 * @TW_TROUPE_MODE_THREAD: workers are threads of this process
 * @TW_TROUPE_MODE_PROCESS: workers are child processes
 *
 * Where a troupe runs its workers. Values are #GVariant in both modes, so
 * a troupe switches between them with no change to the code that submits.
 *
 * Since: 1.0
 */
typedef enum
{
  TW_TROUPE_MODE_THREAD,
  TW_TROUPE_MODE_PROCESS,
} TwTroupeMode;

/**
 * TwShutdownMode:
 * @TW_SHUTDOWN_MODE_DRAIN: finish everything that was submitted, including
 *   chained tasks whose inputs resolve later
 * @TW_SHUTDOWN_MODE_CANCEL_PENDING: fail every task that has not started
 *   with %G_IO_ERROR_CANCELLED; running tasks finish
 *
 * What tw_troupe_shutdown() does with work that has not finished.
 *
 * Since: 1.0
 */
typedef enum
{
  TW_SHUTDOWN_MODE_DRAIN,
  TW_SHUTDOWN_MODE_CANCEL_PENDING,
} TwShutdownMode;

/**
 * TwFunc:
 * @input: (transfer none): the task's input
 * @cancellable: (nullable): triggered when the task is cancelled; poll it
 *   in long work
 * @user_data: (closure): the data given with the function
 * @error: return location for a #GError
 *
 * A function that a troupe runs on its workers. It is called from the
 * troupe's worker threads, several at once, so it must be thread-safe.
 *
 * Returns: (transfer full) (nullable): the output value (a floating
 *   reference is sunk), or %NULL with @error set
 *
 * Since: 1.0
 */
typedef GVariant *(*TwFunc) (GVariant      *input,
                             GCancellable  *cancellable,
                             gpointer       user_data,
                             GError       **error);

/**
 * TwChunkFunc:
 * @inputs: (transfer none): an array of inputs: a slice of the array given
 *   to tw_troupe_map(), of the same type, or a one-element array of the
 *   type `aT` for a task of type `T` given to tw_troupe_submit()
 * @cancellable: (nullable): triggered when the task is cancelled; poll it
 *   in long work
 * @user_data: (closure): the data given with the function
 * @error: return location for a #GError
 *
 * A function that runs a whole chunk of a map at once, for C code that
 * can process an array faster than element by element: no #GVariant is
 * made for each input or output. Register it with
 * tw_register_chunk_func(). Like #TwFunc, it is called from several
 * threads at once, so it must be thread-safe.
 *
 * Returns: (transfer full) (nullable): an array of any array type with
 *   exactly one output per input, in order (a floating reference is
 *   sunk), or %NULL with @error set, which fails the whole chunk
 *
 * Since: 1.0
 */
typedef GVariant *(*TwChunkFunc) (GVariant      *inputs,
                                  GCancellable  *cancellable,
                                  gpointer       user_data,
                                  GError       **error);

/**
 * TwTroupe:
 *
 * A pool of workers that runs tasks. All its fields are private.
 *
 * Since: 1.0
 */
#define TW_TYPE_TROUPE (tw_troupe_get_type ())

TW_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (TwTroupe, tw_troupe, TW, TROUPE, GObject)

TW_AVAILABLE_IN_1_0
TwTroupe     *tw_troupe_new_for_func      (TwFunc                func,
                                           gpointer              user_data,
                                           GDestroyNotify        destroy) G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
TwTroupe     *tw_troupe_new_for_func_name (const char           *name) G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
TwTroupe     *tw_troupe_new_for_worker    (GType                 worker_type,
                                           GVariant             *worker_properties) G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
TwTroupeMode  tw_troupe_get_mode          (TwTroupe             *self);
TW_AVAILABLE_IN_1_0
void          tw_troupe_set_mode          (TwTroupe             *self,
                                           TwTroupeMode          mode);
TW_AVAILABLE_IN_1_0
guint         tw_troupe_get_n_workers     (TwTroupe             *self);
TW_AVAILABLE_IN_1_0
void          tw_troupe_set_n_workers     (TwTroupe             *self,
                                           guint                 n_workers);
TW_AVAILABLE_IN_1_0
char        **tw_troupe_dup_worker_argv   (TwTroupe             *self);
TW_AVAILABLE_IN_1_0
void          tw_troupe_set_worker_argv   (TwTroupe             *self,
                                           const char * const   *argv);
TW_AVAILABLE_IN_1_0
char        **tw_troupe_dup_launcher      (TwTroupe             *self);
TW_AVAILABLE_IN_1_0
void          tw_troupe_set_launcher      (TwTroupe             *self,
                                           const char * const   *launcher);
TW_AVAILABLE_IN_1_0
guint64       tw_troupe_get_max_memory    (TwTroupe             *self);
TW_AVAILABLE_IN_1_0
void          tw_troupe_set_max_memory    (TwTroupe             *self,
                                           guint64               max_memory);
TW_AVAILABLE_IN_1_0
guint         tw_troupe_get_max_cpu_time  (TwTroupe             *self);
TW_AVAILABLE_IN_1_0
void          tw_troupe_set_max_cpu_time  (TwTroupe             *self,
                                           guint                 seconds);
TW_AVAILABLE_IN_1_0
guint         tw_troupe_get_cancel_grace_period (TwTroupe       *self);
TW_AVAILABLE_IN_1_0
void          tw_troupe_set_cancel_grace_period (TwTroupe       *self,
                                                 guint           grace_ms);
TW_AVAILABLE_IN_1_0
guint         tw_troupe_get_task_timeout  (TwTroupe             *self);
TW_AVAILABLE_IN_1_0
void          tw_troupe_set_task_timeout  (TwTroupe             *self,
                                           guint                 timeout_ms);
TW_AVAILABLE_IN_1_0
guint         tw_troupe_get_max_retries   (TwTroupe             *self);
TW_AVAILABLE_IN_1_0
void          tw_troupe_set_max_retries   (TwTroupe             *self,
                                           guint                 max_retries);
TW_AVAILABLE_IN_1_0
guint         tw_troupe_get_max_queued    (TwTroupe             *self);
TW_AVAILABLE_IN_1_0
void          tw_troupe_set_max_queued    (TwTroupe             *self,
                                           guint                 max_queued);
TW_AVAILABLE_IN_1_0
guint         tw_troupe_get_n_queued      (TwTroupe             *self);
TW_AVAILABLE_IN_1_0
guint         tw_troupe_get_n_running     (TwTroupe             *self);
TW_AVAILABLE_IN_1_0
guint         tw_troupe_get_n_completed   (TwTroupe             *self);
TW_AVAILABLE_IN_1_0
guint         tw_troupe_get_n_succeeded   (TwTroupe             *self);
TW_AVAILABLE_IN_1_0
guint         tw_troupe_get_n_failed      (TwTroupe             *self);
TW_AVAILABLE_IN_1_0
guint         tw_troupe_get_n_cancelled   (TwTroupe             *self);
TW_AVAILABLE_IN_1_0
TwFuture     *tw_troupe_submit            (TwTroupe             *self,
                                           GVariant             *input) G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
void          tw_troupe_submit_async      (TwTroupe             *self,
                                           GVariant             *input,
                                           GCancellable         *cancellable,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
TW_AVAILABLE_IN_1_0
TwFuture     *tw_troupe_submit_finish     (TwTroupe             *self,
                                           GAsyncResult         *result,
                                           GError              **error);
TW_AVAILABLE_IN_1_0
TwFuture     *tw_troupe_submit_future     (TwTroupe             *self,
                                           TwFuture             *input) G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
TwFuture     *tw_troupe_map               (TwTroupe             *self,
                                           GVariant             *inputs) G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
TwFuture     *tw_troupe_map_full          (TwTroupe             *self,
                                           GVariant             *inputs,
                                           const GVariantType   *output_type) G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
TwAsCompleted *tw_troupe_map_unordered    (TwTroupe             *self,
                                           GVariant             *inputs) G_GNUC_WARN_UNUSED_RESULT;
TW_AVAILABLE_IN_1_0
void          tw_troupe_shutdown          (TwTroupe             *self,
                                           TwShutdownMode        mode);
TW_AVAILABLE_IN_1_0
void          tw_troupe_shutdown_async    (TwTroupe             *self,
                                           TwShutdownMode        mode,
                                           GCancellable         *cancellable,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
TW_AVAILABLE_IN_1_0
gboolean      tw_troupe_shutdown_finish   (TwTroupe             *self,
                                           GAsyncResult         *result,
                                           GError              **error);

TW_AVAILABLE_IN_1_0
void          tw_register_func            (const char           *name,
                                           TwFunc                func,
                                           gpointer              user_data,
                                           GDestroyNotify        destroy);
TW_AVAILABLE_IN_1_0
void          tw_register_chunk_func      (const char           *name,
                                           TwChunkFunc           func,
                                           gpointer              user_data,
                                           GDestroyNotify        destroy);

G_END_DECLS
