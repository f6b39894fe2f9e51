/* tw-version-macros.h
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

#include <glib.h>

#include "tw-version.h"

#ifndef _TW_EXTERN
# define _TW_EXTERN extern
#endif

/**
 * TW_VERSION_CUR_STABLE:
 *
 * The current stable version of tiny-worker as one number, major * 65536
 * + minor * 256 as GLib encodes its versions, to compare with
 * %TW_VERSION_MIN_REQUIRED and %TW_VERSION_MAX_ALLOWED.
 *
 * Since: 1.0
 */
#define TW_VERSION_CUR_STABLE (G_ENCODE_VERSION (TW_MAJOR_VERSION, TW_MINOR_VERSION))

/* Hidden from g-ir-scanner, which would list them as function macros of
 * the API; its preprocessor gets them from tiny-worker/meson.build. */
#ifndef __GI_SCANNER__
# ifdef TW_DISABLE_DEPRECATION_WARNINGS
#  define TW_DEPRECATED _TW_EXTERN
#  define TW_DEPRECATED_FOR(f) _TW_EXTERN
#  define TW_UNAVAILABLE(maj,min) _TW_EXTERN
# else
#  define TW_DEPRECATED G_DEPRECATED _TW_EXTERN
#  define TW_DEPRECATED_FOR(f) G_DEPRECATED_FOR (f) _TW_EXTERN
#  define TW_UNAVAILABLE(maj,min) G_UNAVAILABLE (maj, min) _TW_EXTERN
# endif
#endif

/**
 * TW_VERSION_1_0:
 *
 * The encoded value of tiny-worker version 1.0, for
 * %TW_VERSION_MIN_REQUIRED and %TW_VERSION_MAX_ALLOWED.
 *
 * Since: 1.0
 */
#define TW_VERSION_1_0 (G_ENCODE_VERSION (1, 0))

/**
 * TW_VERSION_MIN_REQUIRED:
 *
 * Define it before including `tiny-worker.h`, to one of the
 * TW_VERSION_x_y values, to be warned about API deprecated since then.
 * It defaults to %TW_VERSION_CUR_STABLE.
 *
 * Since: 1.0
 */
#ifndef TW_VERSION_MIN_REQUIRED
# define TW_VERSION_MIN_REQUIRED (TW_VERSION_CUR_STABLE)
#endif

/**
 * TW_VERSION_MAX_ALLOWED:
 *
 * Define it before including `tiny-worker.h`, to one of the
 * TW_VERSION_x_y values, to be warned about API newer than that version.
 * It defaults to %TW_VERSION_CUR_STABLE.
 *
 * Since: 1.0
 */
#ifndef TW_VERSION_MAX_ALLOWED
# define TW_VERSION_MAX_ALLOWED (TW_VERSION_CUR_STABLE)
#endif

#define TW_AVAILABLE_IN_ALL _TW_EXTERN

#if TW_VERSION_MAX_ALLOWED < TW_VERSION_1_0
# define TW_AVAILABLE_IN_1_0 TW_UNAVAILABLE (1, 0)
#else
# define TW_AVAILABLE_IN_1_0 _TW_EXTERN
#endif

/* Last: tw-version.h declares its functions once these macros exist. */
#include "tw-version.h"
