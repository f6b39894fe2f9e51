/* mandelbrot.c: the tile function the demo's workers run
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>

#include "mandelbrot.h"

/* Rows between two checks of the cancellable and two progress reports. */
#define ROWS_PER_REPORT 8

/* Escaping points take their colour from this ring, blended in eight
 * steps between neighbours; points of the set are black. */
static const guint8 palette[16][3] = {
  {  66,  30,  15 }, {  25,   7,  26 }, {   9,   1,  47 }, {   4,   4,  73 },
  {   0,   7, 100 }, {  12,  44, 138 }, {  24,  82, 177 }, {  57, 125, 209 },
  { 134, 181, 229 }, { 211, 236, 248 }, { 241, 233, 191 }, { 248, 201,  95 },
  { 255, 170,   0 }, { 204, 128,   0 }, { 153,  87,   0 }, { 106,  52,   3 },
};

GVariant *
mandelbrot_tile_input_new (double   x0,
                           double   y0,
                           double   step,
                           guint    width,
                           guint    height,
                           guint    max_iter,
                           gboolean crash)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "x0", "d", x0);
  g_variant_dict_insert (&dict, "y0", "d", y0);
  g_variant_dict_insert (&dict, "step", "d", step);
  g_variant_dict_insert (&dict, "width", "u", width);
  g_variant_dict_insert (&dict, "height", "u", height);
  g_variant_dict_insert (&dict, "max-iter", "u", max_iter);
  if (crash)
    g_variant_dict_insert (&dict, "crash", "b", TRUE);

  return g_variant_dict_end (&dict);
}

static guint
escape_time (double   cx,
             double   cy,
             guint    max_iter)
{
  double zx = 0.0, zy = 0.0;
  guint n;

  for (n = 0; n < max_iter; n++)
    {
      double xx = zx * zx;
      double yy = zy * zy;

      if (xx + yy > 4.0)
        break;
      zy = 2.0 * zx * zy + cy;
      zx = xx - yy + cx;
    }

  return n;
}

static void
colour (guint   n,
        guint   max_iter,
        guint8 *rgb)
{
  guint band, mix;
  const guint8 *a, *b;

  if (n >= max_iter)
    {
      rgb[0] = rgb[1] = rgb[2] = 0;
      return;
    }

  band = (n % 128) / 8;
  mix = n % 8;
  a = palette[band];
  b = palette[(band + 1) % 16];
  for (guint i = 0; i < 3; i++)
    rgb[i] = (a[i] * (8 - mix) + b[i] * mix) / 8;
}

static gboolean
parse_input (GVariant  *input,
             double    *x0,
             double    *y0,
             double    *step,
             guint     *width,
             guint     *height,
             guint     *max_iter,
             GError   **error)
{
  if (!g_variant_is_of_type (input, G_VARIANT_TYPE_VARDICT) ||
      !g_variant_lookup (input, "x0", "d", x0) ||
      !g_variant_lookup (input, "y0", "d", y0) ||
      !g_variant_lookup (input, "step", "d", step) ||
      !g_variant_lookup (input, "width", "u", width) ||
      !g_variant_lookup (input, "height", "u", height) ||
      !g_variant_lookup (input, "max-iter", "u", max_iter))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "A tile needs x0, y0, step (d), width, height and max-iter (u)");
      return FALSE;
    }

  if (*width == 0 || *width > 1024 || *height == 0 || *height > 1024 || *max_iter == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "A tile is 1 to 1024 pixels wide and high, with max-iter above 0");
      return FALSE;
    }

  return TRUE;
}

/* Renders one tile, row by row from the top, to packed RGB bytes. Reports
 * its progress and stops when cancelled; an input with "crash" set aborts
 * the process, to show what happens when a worker dies. */
GVariant *
mandelbrot_render_tile (GVariant      *input,
                        GCancellable  *cancellable,
                        gpointer       user_data,
                        GError       **error)
{
  double x0, y0, step;
  guint width, height, max_iter;
  gboolean crash = FALSE;
  g_autofree guint8 *pixels = NULL;
  guint8 *data;
  gsize size;

  if (!parse_input (input, &x0, &y0, &step, &width, &height, &max_iter, error))
    return NULL;

  if (g_variant_lookup (input, "crash", "b", &crash) && crash)
    abort ();

  size = (gsize) width * height * MANDELBROT_BPP;
  pixels = g_malloc (size);
  for (guint row = 0; row < height; row++)
    {
      if (row % ROWS_PER_REPORT == 0)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return NULL;
          tw_report_progress ((double) row / height, NULL);
        }

      for (guint col = 0; col < width; col++)
        colour (escape_time (x0 + col * step, y0 - row * step, max_iter), max_iter,
                pixels + ((gsize) row * width + col) * MANDELBROT_BPP);
    }

  data = g_steal_pointer (&pixels);
  return g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size, TRUE, g_free, data);
}
