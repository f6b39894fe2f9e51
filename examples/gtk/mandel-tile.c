/* mandel-tile.c: one tile of a Mandelbrot view, and how it looks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "mandel-tile.h"
#include "mandelbrot.h"

static void
mandel_tile_clear (gpointer data)
{
  MandelTile *tile = data;

  g_clear_object (&tile->future);
  g_clear_object (&tile->texture);
  g_clear_error (&tile->error);
}

MandelTile *
mandel_tile_new (void)
{
  return g_rc_box_new0 (MandelTile);
}

MandelTile *
mandel_tile_ref (MandelTile *tile)
{
  return g_rc_box_acquire (tile);
}

void
mandel_tile_unref (gpointer tile)
{
  g_rc_box_release_full (tile, mandel_tile_clear);
}

/* Forgets the tile's pixels or error: @future renders it now. */
void
mandel_tile_reset (MandelTile *tile,
                   TwFuture   *future)
{
  g_set_object (&tile->future, future);
  g_clear_object (&tile->texture);
  g_clear_error (&tile->error);
  tile->state = MANDEL_TILE_QUEUED;
}

gboolean
mandel_tile_is_running (MandelTile *tile)
{
  return tile->future != NULL && tw_future_get_state (tile->future) == TW_FUTURE_STATE_RUNNING;
}

/* A texture from the worker's packed RGB, or NULL with @error set when
 * the value does not have the tile's size. */
static GdkTexture *
texture_for_value (MandelTile  *tile,
                   GVariant    *value,
                   GError     **error)
{
  g_autoptr(GBytes) bytes = NULL;
  gsize stride = (gsize) tile->width * MANDELBROT_BPP;

  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_BYTESTRING) ||
      g_variant_get_size (value) != stride * tile->height)
    {
      g_set_error (error, TW_ERROR, TW_ERROR_INVALID_RESULT,
                   "The worker returned %s of %" G_GSIZE_FORMAT " bytes for a %d×%d tile",
                   g_variant_get_type_string (value), g_variant_get_size (value),
                   tile->width, tile->height);
      return NULL;
    }

  bytes = g_variant_get_data_as_bytes (value);
  return gdk_memory_texture_new (tile->width, tile->height, GDK_MEMORY_R8G8B8, bytes, stride);
}

/* Takes the outcome of the tile's future: pixels, or the error. */
void
mandel_tile_settle (MandelTile   *tile,
                    GVariant     *value,
                    const GError *error)
{
  g_autoptr(GError) local_error = NULL;

  g_clear_object (&tile->future);
  if (value != NULL)
    tile->texture = texture_for_value (tile, value, &local_error);
  else
    local_error = g_error_copy (error);

  if (tile->texture != NULL)
    tile->state = MANDEL_TILE_DONE;
  else if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    tile->state = MANDEL_TILE_CANCELLED;
  else
    {
      tile->state = MANDEL_TILE_FAILED;
      tile->error = g_steal_pointer (&local_error);
    }
}

static void
snapshot_failed (GtkWidget             *widget,
                 GtkSnapshot           *snapshot,
                 const graphene_rect_t *rect)
{
  static const GdkRGBA red = { 0.75, 0.11, 0.16, 0.85 };
  static const GdkRGBA white = { 1, 1, 1, 1 };
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (widget, "Failed");
  int width, height;

  gtk_snapshot_append_color (snapshot, &red, rect);
  pango_layout_get_pixel_size (layout, &width, &height);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot,
                          &GRAPHENE_POINT_INIT (rect->origin.x + (rect->size.width - width) / 2,
                                                rect->origin.y + (rect->size.height - height) / 2));
  gtk_snapshot_append_layout (snapshot, layout, &white);
  gtk_snapshot_restore (snapshot);
}

/* Draws the pixels, the failure, or the progress of a running tile; a
 * queued tile leaves what is below it. */
void
mandel_tile_snapshot (MandelTile  *tile,
                      GtkWidget   *widget,
                      GtkSnapshot *snapshot)
{
  static const GdkRGBA bar = { 0.21, 0.52, 0.89, 1 };
  static const GdkRGBA trough = { 1, 1, 1, 0.2 };
  graphene_rect_t rect = GRAPHENE_RECT_INIT (tile->x, tile->y, tile->width, tile->height);
  graphene_rect_t track = GRAPHENE_RECT_INIT (tile->x + 8, tile->y + tile->height / 2 - 3,
                                              tile->width - 16, 6);

  if (tile->state == MANDEL_TILE_DONE)
    gtk_snapshot_append_texture (snapshot, tile->texture, &rect);
  else if (tile->state == MANDEL_TILE_FAILED)
    snapshot_failed (widget, snapshot, &rect);
  else if (mandel_tile_is_running (tile))
    {
      gtk_snapshot_append_color (snapshot, &trough, &track);
      track.size.width *= tw_future_get_progress (tile->future);
      gtk_snapshot_append_color (snapshot, &bar, &track);
    }
}

char *
mandel_tile_dup_tooltip (MandelTile *tile)
{
  switch (tile->state)
    {
    case MANDEL_TILE_DONE:
      return g_strdup_printf ("Tile %u: done, %u iterations at most", tile->index, tile->max_iter);
    case MANDEL_TILE_FAILED:
      return g_strdup_printf ("Tile %u failed: %s\nClick to render it again", tile->index,
                              tile->error->message);
    case MANDEL_TILE_CANCELLED:
      return g_strdup_printf ("Tile %u: cancelled", tile->index);
    case MANDEL_TILE_QUEUED:
    default:
      if (mandel_tile_is_running (tile))
        return g_strdup_printf ("Tile %u: rendering, %.0f%%", tile->index,
                                100 * tw_future_get_progress (tile->future));
      return g_strdup_printf ("Tile %u: queued", tile->index);
    }
}
