/* mandel-view.h: a Mandelbrot view whose tiles render on a troupe
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gtk/gtk.h>
#include <tiny-worker.h>

G_BEGIN_DECLS

#define MANDEL_TYPE_VIEW (mandel_view_get_type ())

G_DECLARE_FINAL_TYPE (MandelView, mandel_view, MANDEL, VIEW, GtkWidget)

/* Tiles are squares of this many pixels; those on the right and bottom
 * edges are cut to the widget's size. */
#define MANDEL_TILE_SIZE 80

GtkWidget *mandel_view_new               (void);
TwTroupe  *mandel_view_get_troupe        (MandelView *self);
gboolean   mandel_view_get_process_mode  (MandelView *self);
void       mandel_view_set_process_mode  (MandelView *self,
                                          gboolean    process_mode);
guint      mandel_view_get_n_workers     (MandelView *self);
void       mandel_view_set_n_workers     (MandelView *self,
                                          guint       n_workers);
guint      mandel_view_get_n_tiles       (MandelView *self);
guint      mandel_view_get_generation    (MandelView *self);
double     mandel_view_get_step          (MandelView *self);
gboolean   mandel_view_is_complete       (MandelView *self);
void       mandel_view_get_tile_rect     (MandelView   *self,
                                          guint         index,
                                          GdkRectangle *rect);
char      *mandel_view_dup_tile_tooltip  (MandelView *self,
                                          guint       index);
void       mandel_view_zoom              (MandelView *self,
                                          double      factor,
                                          double      x,
                                          double      y);
void       mandel_view_pan               (MandelView *self,
                                          double      dx,
                                          double      dy);
void       mandel_view_reset             (MandelView *self);
guint      mandel_view_crash_worker      (MandelView *self);
void       mandel_view_retry_tile        (MandelView *self,
                                          guint       index);

G_END_DECLS
