/* tw-worker-factory-private.h
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

#include "tw-troupe.h"
#include "tw-worker.h"

G_BEGIN_DECLS

/*
 * TwWorkerFactory:
 *
 * What a troupe's workers are, made once and then shared read-only by
 * every thread that runs them: a plain function, a registered one, or a
 * #TwWorker type with its construct properties, checked up front. Both
 * the thread runner and a worker process use it to make, call and free
 * their workers.
 */
typedef struct _TwWorkerFactory TwWorkerFactory;

/* Refuses an output that a worker returned; optional. */
typedef gboolean (*TwWorkerCheckFunc) (GVariant  *output,
                                       GError   **error);

TwWorkerFactory *tw_worker_factory_new_for_func  (TwFunc                  func,
                                                  gpointer                user_data,
                                                  GDestroyNotify          destroy);
TwWorkerFactory *tw_worker_factory_new_for_name  (const char             *name,
                                                  GError                **error);
TwWorkerFactory *tw_worker_factory_new_for_type  (GType                   worker_type,
                                                  GVariant               *properties,
                                                  GError                **error);
void             tw_worker_factory_free          (TwWorkerFactory        *self);
void             tw_worker_factory_set_check     (TwWorkerFactory        *self,
                                                  TwWorkerCheckFunc       check);
gpointer         tw_worker_factory_new_worker    (const TwWorkerFactory  *self,
                                                  GCancellable           *cancellable,
                                                  GError                **error);
GVariant        *tw_worker_factory_call          (const TwWorkerFactory  *self,
                                                  gpointer                worker,
                                                  GVariant               *input,
                                                  gboolean                chunk,
                                                  GCancellable           *cancellable,
                                                  GError                **error);
void             tw_worker_factory_free_worker   (const TwWorkerFactory  *self,
                                                  gpointer                worker);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TwWorkerFactory, tw_worker_factory_free)

G_END_DECLS
