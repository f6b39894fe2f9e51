/* tw-worker.h
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
 * TwWorker:
 *
 * The base class of workers that keep state between tasks. Subclass it
 * and implement #TwWorkerClass.call.
 *
 * Since: 1.0
 */
#define TW_TYPE_WORKER (tw_worker_get_type ())

TW_AVAILABLE_IN_1_0
G_DECLARE_DERIVABLE_TYPE (TwWorker, tw_worker, TW, WORKER, GObject)

/**
 * TwWorkerClass:
 * @parent_class: the parent class
 * @setup: acquires the worker's resources, once per worker, in the worker's
 *   own thread or process, before its first call. Optional; the default
 *   does nothing and succeeds.
 * @call: turns one input value into one output value, or fails with a
 *   #GError. Returns a new reference (a floating one is sunk).
 * @teardown: releases what @setup acquired, once per worker, in the
 *   worker's own thread or process, when the troupe shuts down. Optional.
 *   It is not called for a worker whose @setup failed.
 *
 * The virtual methods of #TwWorker. Only @call must be implemented.
 *
 * Since: 1.0
 */
struct _TwWorkerClass
{
  GObjectClass parent_class;

  gboolean  (*setup)    (TwWorker      *self,
                         GCancellable  *cancellable,
                         GError       **error);
  GVariant *(*call)     (TwWorker      *self,
                         GVariant      *input,
                         GCancellable  *cancellable,
                         GError       **error);
  void      (*teardown) (TwWorker      *self);

  /*< private >*/
  gpointer padding[8];
};

TW_AVAILABLE_IN_1_0
gboolean  tw_worker_setup    (TwWorker      *self,
                              GCancellable  *cancellable,
                              GError       **error);
TW_AVAILABLE_IN_1_0
GVariant *tw_worker_call     (TwWorker      *self,
                              GVariant      *input,
                              GCancellable  *cancellable,
                              GError       **error);
TW_AVAILABLE_IN_1_0
void      tw_worker_teardown (TwWorker      *self);

TW_AVAILABLE_IN_1_0
void      tw_report_progress (gdouble        fraction,
                              const char    *message);

G_END_DECLS
