/* mandel-tile.h: one tile of a Mandelbrot view, and how it looks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gtk/gtk.h>
#include <tiny-worker.h>

G_BEGIN_DECLS

typedef enum
{
  MANDEL_TILE_QUEUED,
  MANDEL_TILE_DONE,
  MANDEL_TILE_FAILED,
  MANDEL_TILE_CANCELLED,
} MandelTileState;

/* Reference counted: the view holds its tiles, and each submission holds
 * its tile until the future settles. Main thread only. */
typedef struct
{
  guint            generation;  /* the render this tile belongs to */
  guint            index;       /* its place in the view's tiles */
  int              x, y;        /* its top left pixel in the view */
  int              width, height;
  double           x0, y0;      /* the complex number of its top left pixel's centre */
  double           step;        /* complex units per pixel */
  guint            max_iter;
  MandelTileState  state;
  TwFuture        *future;      /* the latest submission, until it settles */
  GdkTexture      *texture;     /* the pixels, once done */
  GError          *error;       /* why it failed */
} MandelTile;

MandelTile *mandel_tile_new         (void);
MandelTile *mandel_tile_ref         (MandelTile   *tile);
void        mandel_tile_unref       (gpointer      tile);
void        mandel_tile_reset       (MandelTile   *tile,
                                     TwFuture     *future);
gboolean    mandel_tile_is_running  (MandelTile   *tile);
void        mandel_tile_settle      (MandelTile   *tile,
                                     GVariant     *value,
                                     const GError *error);
void        mandel_tile_snapshot    (MandelTile   *tile,
                                     GtkWidget    *widget,
                                     GtkSnapshot  *snapshot);
char       *mandel_tile_dup_tooltip (MandelTile   *tile);

G_END_DECLS
