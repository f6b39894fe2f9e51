/* tw-defer-private.h
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

#include <glib.h>

G_BEGIN_DECLS

/* Work that would recurse without bound (a future settling makes its
 * dependents settle, and so on down a chain) is queued per thread while
 * the outermost call runs, and then run in a loop: the stack stays
 * constant, whatever the depth. */
typedef void (*TwDeferFunc) (gpointer data);

gboolean tw_defer_begin (void);
void     tw_defer_push  (TwDeferFunc  func,
                         gpointer     data);
void     tw_defer_end   (void);

G_END_DECLS
