/* tw-notifier-private.h
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

#include <glib-object.h>

G_BEGIN_DECLS

/* Tells an object, in its main context, that something changed: any
 * thread may ask, and asks coalesce until the context runs the call. A
 * context that never runs holds one pending source, not one per ask. */
typedef struct _TwNotifier TwNotifier;

typedef void (*TwNotifierFunc) (GObject *owner);

TwNotifier *tw_notifier_new          (GMainContext   *context,
                                      GObject        *owner,
                                      TwNotifierFunc  func);
void        tw_notifier_unref        (TwNotifier     *self);
void        tw_notifier_schedule     (TwNotifier     *self);
void        tw_notifier_forget_owner (TwNotifier     *self);

G_END_DECLS
