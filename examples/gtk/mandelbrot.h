/* mandelbrot.h: the tile function the demo's workers run
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <tiny-worker.h>

G_BEGIN_DECLS

/* The name the tile function is registered under, so that worker
 * processes find it. */
#define MANDELBROT_FUNC_NAME "mandelbrot-tile"

/* Bytes per pixel of a tile: the output is packed RGB. */
#define MANDELBROT_BPP 3

GVariant *mandelbrot_tile_input_new (double   x0,
                                     double   y0,
                                     double   step,
                                     guint    width,
                                     guint    height,
                                     guint    max_iter,
                                     gboolean crash);

GVariant *mandelbrot_render_tile    (GVariant      *input,
                                     GCancellable  *cancellable,
                                     gpointer       user_data,
                                     GError       **error);

G_END_DECLS
