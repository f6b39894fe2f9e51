/* self-test.c: drive the demo the way a person would, for the test suite
 *
 * Renders the first view, zooms in as soon as its first tile arrives (so
 * the rest of it is cancelled), crashes a worker, takes crash.png of the
 * failed tile, clicks it to render it again, and once the second view is
 * complete takes screenshot.png, switches to three worker threads, renders
 * the view again, writes report.txt and closes the window. All files go
 * to the output directory. Every step waits for a signal; a generous
 * timeout catches a hang. The test checks the report's pixels on its own.
 * report.txt has one fact per line:
 *
 *   view1 TILES SUCCEEDED CANCELLED FAILED STEP MS_TO_SETTLE_AFTER_ZOOM
 *   view2 TILES STEP
 *   crash INDEX ERROR_DOMAIN ERROR_CODE MESSAGE
 *   tooltip TEXT_OF_THE_FAILED_TILE
 *   tile INDEX X Y SHA256_OF_RGB_PIXELS INPUT     (every tile of view 2)
 *   screenshot FILE WIDTH HEIGHT VIEW_X VIEW_Y    (crash.png, screenshot.png)
 *   view3 TILES SAME_AS_VIEW2 N_WORKERS TW_TROUPE_MODE
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "self-test.h"

#define TIMEOUT_SECONDS 240

typedef struct
{
  MandelWindow *window;
  MandelView   *view;
  TwTroupe     *troupe;       /* the view's, for its counters */
  gulong        notify_id;
  char         *output_dir;
  int          *status;       /* where the verdict goes */
  GString      *report;       /* facts for the test, one per line */
  guint         timeout_id;
  gboolean      finishing;    /* waiting for the frame of the screenshot */
  gboolean      closing;      /* the window is about to close */

  guint         gen1;         /* the first view: 0 until its first tile */
  guint         gen1_tiles;
  guint         gen1_settled[3];  /* succeeded, cancelled, failed */
  double        gen1_step;
  gint64        zoom_usec;     /* when the zoom cancelled the first view */
  gint64        gen1_done_usec;

  guint         gen2;
  guint         gen3;         /* the same view again, on threads */
  guint         n_same;       /* its tiles whose pixels match the second view's */
  guint         crash_index;  /* the tile whose worker aborted */
  gboolean      crash_seen;   /* it failed, was shot and rendered again */
  GPtrArray    *pixels;       /* GBytes of the second view's tiles, by index */
  GPtrArray    *inputs;       /* GVariant of the second view's tiles, by index */
} SelfTest;

static void
self_test_free (gpointer  data,
                GObject  *where_the_view_was)
{
  SelfTest *test = data;

  g_clear_handle_id (&test->timeout_id, g_source_remove);
  g_clear_signal_handler (&test->notify_id, test->troupe);
  g_clear_object (&test->troupe);
  g_string_free (test->report, TRUE);
  g_ptr_array_unref (test->pixels);
  g_ptr_array_unref (test->inputs);
  g_free (test->output_dir);
  g_free (test);
}

static void
clear_ref (gpointer data)
{
  if (data != NULL)
    g_bytes_unref (data);
}

static void
clear_variant (gpointer data)
{
  if (data != NULL)
    g_variant_unref (data);
}

static gboolean
destroy_window (gpointer data)
{
  gtk_window_destroy (data);
  return G_SOURCE_REMOVE;
}

/* Closes the window from an idle, as the test frees itself with it. */
static void
close_window (SelfTest *test)
{
  g_clear_handle_id (&test->timeout_id, g_source_remove);
  if (!test->closing)
    g_idle_add (destroy_window, test->window);
  test->closing = TRUE;
}

static void
fail (SelfTest   *test,
      const char *message)
{
  g_printerr ("self-test: %s\n", message);
  *test->status = 1;
  close_window (test);
}

static gboolean
timeout_cb (gpointer user_data)
{
  SelfTest *test = user_data;
  g_autofree char *message = NULL;

  test->timeout_id = 0;
  message = g_strdup_printf ("timed out: first view %u, %u of %u settled; second view %u, "
                             "crash seen %d; third view %u; complete %d; status bar idle %d",
                             test->gen1, test->gen1_settled[0] + test->gen1_settled[1] +
                             test->gen1_settled[2], test->gen1_tiles, test->gen2,
                             test->crash_seen, test->gen3, mandel_view_is_complete (test->view),
                             mandel_window_is_idle (test->window));
  fail (test, message);
  return G_SOURCE_REMOVE;
}

static gboolean
save_screenshot (SelfTest    *test,
                 const char  *name,
                 GError     **error)
{
  GtkWidget *window = GTK_WIDGET (test->window);
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (window);
  g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *path = g_build_filename (test->output_dir, name, NULL);
  int width = gdk_paintable_get_intrinsic_width (paintable);
  int height = gdk_paintable_get_intrinsic_height (paintable);
  graphene_rect_t bounds;
  graphene_point_t origin;

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (window)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot save %s", path);
      return FALSE;
    }

  /* The image starts at the window's bounds, its shadow or border. */
  if (!gtk_widget_compute_bounds (window, window, &bounds) ||
      !gtk_widget_compute_point (GTK_WIDGET (test->view), window,
                                 &GRAPHENE_POINT_INIT (0, 0), &origin))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "The view is not in the window");
      return FALSE;
    }

  g_string_append_printf (test->report, "screenshot %s %d %d %d %d\n", name,
                          gdk_texture_get_width (texture), gdk_texture_get_height (texture),
                          (int) (origin.x - bounds.origin.x), (int) (origin.y - bounds.origin.y));
  return TRUE;
}

static gboolean
report_tiles (SelfTest  *test,
              GError   **error)
{
  for (guint i = 0; i < test->pixels->len; i++)
    {
      g_autofree char *sum = NULL;
      g_autofree char *input = NULL;
      GdkRectangle rect;

      if (test->pixels->pdata[i] == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Tile %u has no pixels", i);
          return FALSE;
        }

      sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, test->pixels->pdata[i]);
      input = g_variant_print (test->inputs->pdata[i], FALSE);

      mandel_view_get_tile_rect (test->view, i, &rect);
      g_string_append_printf (test->report, "tile %u %d %d %s %s\n", i, rect.x, rect.y, sum, input);
    }

  return TRUE;
}

static void check_done (SelfTest *test);

/* Follows the view's troupe's counters, after the status bar's bindings
 * have seen them change. */
static void
watch_troupe (SelfTest *test)
{
  g_clear_signal_handler (&test->notify_id, test->troupe);
  g_clear_object (&test->troupe);
  test->troupe = g_object_ref (mandel_view_get_troupe (test->view));
  test->notify_id = g_signal_connect_data (test->troupe, "notify", G_CALLBACK (check_done),
                                           test, NULL, G_CONNECT_AFTER | G_CONNECT_SWAPPED);
}

/* The settings menu's switch and spin button: three worker threads
 * render the same view again. */
static void
switch_to_threads (SelfTest *test)
{
  mandel_view_set_n_workers (test->view, 3);
  mandel_view_set_process_mode (test->view, FALSE);
  test->gen3 = mandel_view_get_generation (test->view);
  watch_troupe (test);
  test->finishing = FALSE;
}

static void
check_threads_done (SelfTest *test)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (test->output_dir, "report.txt", NULL);

  if (!mandel_view_is_complete (test->view) || !mandel_window_is_idle (test->window))
    return;

  g_string_append_printf (test->report, "view3 %u %u %u %d\n",
                          mandel_view_get_n_tiles (test->view), test->n_same,
                          tw_troupe_get_n_workers (test->troupe),
                          tw_troupe_get_mode (test->troupe));
  if (!g_file_set_contents (path, test->report->str, test->report->len, &error))
    fail (test, error->message);
  else
    close_window (test);
}

/* After a paint, the window's render node shows the finished view. */
static void
finish_after_paint (GdkFrameClock *clock,
                    SelfTest      *test)
{
  g_autoptr(GError) error = NULL;

  g_signal_handlers_disconnect_by_func (clock, finish_after_paint, test);
  if (!report_tiles (test, &error) || !save_screenshot (test, "screenshot.png", &error))
    fail (test, error->message);
  else
    switch_to_threads (test);
}

static void
check_done (SelfTest *test)
{
  guint gen1_total = test->gen1_settled[0] + test->gen1_settled[1] + test->gen1_settled[2];
  char step[G_ASCII_DTOSTR_BUF_SIZE];
  char ms[G_ASCII_DTOSTR_BUF_SIZE];

  if (test->gen3 != 0 && !test->finishing && !test->closing)
    {
      check_threads_done (test);
      return;
    }

  if (test->finishing || test->closing || test->gen2 == 0 || gen1_total < test->gen1_tiles ||
      !test->crash_seen || !mandel_view_is_complete (test->view) ||
      !mandel_window_is_idle (test->window))
    return;

  g_string_append_printf (test->report, "view1 %u %u %u %u %s %s\n",
                          test->gen1_tiles, test->gen1_settled[0], test->gen1_settled[1],
                          test->gen1_settled[2], g_ascii_dtostr (step, sizeof step, test->gen1_step),
                          g_ascii_formatd (ms, sizeof ms, "%.1f",
                                           (test->gen1_done_usec - test->zoom_usec) / 1000.0));
  g_string_append_printf (test->report, "view2 %u %s\n", mandel_view_get_n_tiles (test->view),
                          g_ascii_dtostr (step, sizeof step, mandel_view_get_step (test->view)));

  /* Paint the finished view once more before the screenshot; nothing
   * else happens meanwhile. */
  test->finishing = TRUE;
  g_signal_connect (gtk_widget_get_frame_clock (GTK_WIDGET (test->window)), "after-paint",
                    G_CALLBACK (finish_after_paint), test);
  gtk_widget_queue_draw (GTK_WIDGET (test->view));
}

/* The first tile of the first view: zoom in with the keyboard's action,
 * then crash a worker with the header bar's. */
static void
zoom_and_crash (SelfTest *test,
                guint     generation)
{
  test->gen1 = generation;
  test->gen1_tiles = mandel_view_get_n_tiles (test->view);
  test->gen1_step = mandel_view_get_step (test->view);
  test->zoom_usec = g_get_monotonic_time ();
  gtk_widget_activate_action (GTK_WIDGET (test->view), "view.zoom", "d", 2.0);
  test->gen2 = mandel_view_get_generation (test->view);
  g_ptr_array_set_size (test->pixels, mandel_view_get_n_tiles (test->view));
  g_ptr_array_set_size (test->inputs, mandel_view_get_n_tiles (test->view));
  g_action_group_activate_action (G_ACTION_GROUP (test->window), "crash", NULL);
}

/* After the paint that shows the failed tile: its picture, then the
 * click that renders it again. */
static void
crash_after_paint (GdkFrameClock *clock,
                   SelfTest      *test)
{
  g_autoptr(GError) error = NULL;

  g_signal_handlers_disconnect_by_func (clock, crash_after_paint, test);
  if (!save_screenshot (test, "crash.png", &error))
    {
      fail (test, error->message);
      return;
    }

  mandel_view_retry_tile (test->view, test->crash_index);
  test->crash_seen = TRUE;
}

static void
record_crash (SelfTest     *test,
              guint         index,
              const GError *error)
{
  g_autofree char *tooltip = NULL;

  if (error == NULL)
    {
      fail (test, "the tile whose worker aborted succeeded");
      return;
    }

  tooltip = mandel_view_dup_tile_tooltip (test->view, index);
  g_strdelimit (tooltip, "\n", '|');
  g_string_append_printf (test->report, "crash %u %s %d %s\n", index,
                          g_quark_to_string (error->domain), error->code, error->message);
  g_string_append_printf (test->report, "tooltip %s\n", tooltip);

  test->crash_index = index;
  g_signal_connect (gtk_widget_get_frame_clock (GTK_WIDGET (test->window)), "after-paint",
                    G_CALLBACK (crash_after_paint), test);
  gtk_widget_queue_draw (GTK_WIDGET (test->view));
}

static void
record_second_view (SelfTest     *test,
                    guint         index,
                    GVariant     *input,
                    GBytes       *pixels,
                    const GError *error)
{
  gboolean crash = FALSE;

  if (g_variant_lookup (input, "crash", "b", &crash) && crash)
    record_crash (test, index, error);
  else if (pixels != NULL)
    {
      clear_ref (test->pixels->pdata[index]);
      clear_variant (test->inputs->pdata[index]);
      test->pixels->pdata[index] = g_bytes_ref (pixels);
      test->inputs->pdata[index] = g_variant_ref (input);
    }
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    fail (test, error->message);
}

static void
tile_finished_cb (MandelView   *view,
                  guint         generation,
                  guint         index,
                  GVariant     *input,
                  GBytes       *pixels,
                  const GError *error,
                  SelfTest     *test)
{
  if (test->finishing || test->closing)
    return;

  /* A resize may have replaced the first view already. */
  if (test->gen1 == 0 && pixels != NULL && generation == mandel_view_get_generation (view))
    zoom_and_crash (test, generation);

  if (generation == test->gen1)
    {
      test->gen1_settled[pixels != NULL ? 0
                         : g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ? 1 : 2]++;
      test->gen1_done_usec = g_get_monotonic_time ();
    }
  else if (generation == test->gen2)
    record_second_view (test, index, input, pixels, error);
  else if (generation == test->gen3 && pixels != NULL)
    test->n_same += g_bytes_equal (pixels, test->pixels->pdata[index]);
  else if (generation == test->gen3 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    fail (test, error->message);

  check_done (test);
}

void
mandel_self_test_start (MandelWindow *window,
                        const char   *output_dir,
                        int          *status)
{
  SelfTest *test = g_new0 (SelfTest, 1);

  test->window = window;
  test->view = mandel_window_get_view (window);
  test->output_dir = g_strdup (output_dir);
  test->status = status;
  test->report = g_string_new (NULL);
  test->pixels = g_ptr_array_new_with_free_func (clear_ref);
  test->inputs = g_ptr_array_new_with_free_func (clear_variant);
  test->timeout_id = g_timeout_add_seconds (TIMEOUT_SECONDS, timeout_cb, test);

  g_signal_connect (test->view, "tile-finished", G_CALLBACK (tile_finished_cb), test);
  watch_troupe (test);

  /* In thread mode the crash would take the demo down. */
  if (!mandel_view_get_process_mode (test->view))
    fail (test, "the self-test needs worker processes: drop --threads");
  g_object_weak_ref (G_OBJECT (test->view), self_test_free, test);
}
