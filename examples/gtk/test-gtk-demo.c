/* test-gtk-demo.c: run the Mandelbrot demo under Xvfb and check what it shows
 *
 * The demo's --self-test renders a view, zooms in while it renders,
 * crashes a worker, renders the failed tile again, renders the view again
 * on threads and writes a report and screenshots. This test computes every tile's pixels on its own and
 * checks them against the pixels the workers returned and against the
 * screenshot.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <signal.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <tiny-worker.h>

#include "mandelbrot.h"

#define DEMO_TIMEOUT_SECONDS 400

/* The demo's colouring, written again: 16 colours, blended in eight
 * steps, black inside the set. */
static const guint8 ring[16][3] = {
  {  66,  30,  15 }, {  25,   7,  26 }, {   9,   1,  47 }, {   4,   4,  73 },
  {   0,   7, 100 }, {  12,  44, 138 }, {  24,  82, 177 }, {  57, 125, 209 },
  { 134, 181, 229 }, { 211, 236, 248 }, { 241, 233, 191 }, { 248, 201,  95 },
  { 255, 170,   0 }, { 204, 128,   0 }, { 153,  87,   0 }, { 106,  52,   3 },
};

typedef struct
{
  double x0, y0, step;
  guint  width, height, max_iter;
} TileSpec;

static guint
iterations (double re,
            double im,
            guint  limit)
{
  double a = 0, b = 0;
  guint i = 0;

  while (i < limit)
    {
      double a2 = a * a, b2 = b * b;

      if (a2 + b2 > 4.0)
        return i;
      b = 2.0 * a * b + im;
      a = a2 - b2 + re;
      i++;
    }

  return limit;
}

static guint8 *
expected_pixels (const TileSpec *spec)
{
  guint8 *rgb = g_malloc ((gsize) spec->width * spec->height * 3);
  guint8 *p = rgb;

  for (guint row = 0; row < spec->height; row++)
    for (guint col = 0; col < spec->width; col++, p += 3)
      {
        guint n = iterations (spec->x0 + col * spec->step, spec->y0 - row * spec->step,
                              spec->max_iter);
        guint k = n % 128, lo = k / 8, hi = (lo + 1) % 16, t = k % 8;

        for (guint c = 0; c < 3; c++)
          p[c] = n == spec->max_iter ? 0 : (ring[lo][c] * (8 - t) + ring[hi][c] * t) / 8;
      }

  return rgb;
}

static void
parse_spec (GVariant *input,
            TileSpec *spec)
{
  g_assert_true (g_variant_lookup (input, "x0", "d", &spec->x0));
  g_assert_true (g_variant_lookup (input, "y0", "d", &spec->y0));
  g_assert_true (g_variant_lookup (input, "step", "d", &spec->step));
  g_assert_true (g_variant_lookup (input, "width", "u", &spec->width));
  g_assert_true (g_variant_lookup (input, "height", "u", &spec->height));
  g_assert_true (g_variant_lookup (input, "max-iter", "u", &spec->max_iter));
  g_assert_false (g_variant_lookup (input, "crash", "b", NULL));
}

/* The tile function itself, in this process: its output is the
 * independent computation, bad input and cancellation are clear errors. */
static void
test_gtk_demo_tile_function (void)
{
  TileSpec spec = { -0.75, 0.1, 0.003, 37, 23, 300 };
  g_autoptr(GVariant) input =
    g_variant_ref_sink (mandelbrot_tile_input_new (spec.x0, spec.y0, spec.step, spec.width,
                                                   spec.height, spec.max_iter, FALSE));
  g_autoptr(GVariant) output = NULL;
  g_autoptr(GVariant) bad = g_variant_ref_sink (g_variant_new_string ("tile"));
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *pixels = expected_pixels (&spec);

  output = mandelbrot_render_tile (input, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_is_of_type (output, G_VARIANT_TYPE_BYTESTRING));
  g_assert_cmpmem (g_variant_get_data (output), g_variant_get_size (output),
                   pixels, (gsize) spec.width * spec.height * 3);

  g_assert_null (mandelbrot_render_tile (bad, NULL, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_cancellable_cancel (cancellable);
  g_assert_null (mandelbrot_render_tile (input, cancellable, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* In a worker process, the tile reports its progress every eight rows;
 * the last report reaches the future before the pixels do. */
static void
test_gtk_demo_tile_progress (void)
{
  g_autoptr(TwTroupe) troupe = tw_troupe_new_for_func_name (MANDELBROT_FUNC_NAME);
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GVariant) output = NULL;
  g_autoptr(GError) error = NULL;

  tw_troupe_set_mode (troupe, TW_TROUPE_MODE_PROCESS);
  tw_troupe_set_n_workers (troupe, 1);
  future = tw_troupe_submit (troupe, mandelbrot_tile_input_new (-0.5, 0.5, 0.01, 16, 64, 50,
                                                                FALSE));
  output = tw_future_wait (future, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_get_size (output), ==, 16 * 64 * 3);
  g_assert_cmpfloat (tw_future_get_progress (future), ==, 56.0 / 64);
}

typedef struct
{
  GMainLoop *loop;
  gboolean   timed_out;
} Wait;

static void
demo_exited_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Wait *wait = user_data;

  g_assert_true (g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL));
  g_main_loop_quit (wait->loop);
}

static gboolean
demo_timeout_cb (gpointer user_data)
{
  Wait *wait = user_data;

  wait->timed_out = TRUE;
  g_main_loop_quit (wait->loop);
  return G_SOURCE_REMOVE;
}

static void
new_process_group (gpointer user_data)
{
  setpgid (0, 0);
}

/* Runs the demo's self-test in @dir under its own X server. */
static void
run_demo (const char *xvfb_run,
          const char *demo,
          const char *dir)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *output_dir = g_strconcat ("--output-dir=", dir, NULL);
  g_autofree char *asan_options = NULL;
  Wait wait = { g_main_loop_new (NULL, FALSE), FALSE };
  guint timeout_id;

  /* No session bus, accessibility bus or dconf: nothing outlives the
   * demo. The cairo renderer at scale 1 draws the same pixels everywhere.
   * Its stdout goes to stderr, away from the TAP stream. */
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", "disabled:", TRUE);
  g_subprocess_launcher_setenv (launcher, "GTK_A11Y", "none", TRUE);
  g_subprocess_launcher_setenv (launcher, "NO_AT_BRIDGE", "1", TRUE);
  g_subprocess_launcher_setenv (launcher, "GSETTINGS_BACKEND", "memory", TRUE);
  g_subprocess_launcher_setenv (launcher, "GSK_RENDERER", "cairo", TRUE);
  g_subprocess_launcher_setenv (launcher, "GDK_BACKEND", "x11", TRUE);
  g_subprocess_launcher_setenv (launcher, "GDK_SCALE", "1", TRUE);
  g_subprocess_launcher_take_stdout_fd (launcher, dup (STDERR_FILENO));

  /* Under AddressSanitizer, fontconfig and the GL stack keep memory to the
   * end, which LeakSanitizer would report: keep the other checks only. */
  asan_options = g_strconcat (g_getenv ("ASAN_OPTIONS") ? g_getenv ("ASAN_OPTIONS") : "",
                              ":detect_leaks=0", NULL);
  g_subprocess_launcher_setenv (launcher, "ASAN_OPTIONS", asan_options, TRUE);

  g_subprocess_launcher_set_child_setup (launcher, new_process_group, NULL, NULL);
  process = g_subprocess_launcher_spawn (launcher, &error, xvfb_run, "-a",
                                         "-s", "-screen 0 1280x1024x24 -nolisten tcp",
                                         demo, "--self-test", output_dir, NULL);
  g_assert_no_error (error);

  timeout_id = g_timeout_add_seconds (DEMO_TIMEOUT_SECONDS, demo_timeout_cb, &wait);
  g_subprocess_wait_async (process, NULL, demo_exited_cb, &wait);
  g_main_loop_run (wait.loop);
  if (wait.timed_out)
    {
      /* xvfb-run, its X server and the demo with its workers. */
      kill (-atoi (g_subprocess_get_identifier (process)), SIGKILL);
      g_error ("The demo did not finish within %d s", DEMO_TIMEOUT_SECONDS);
    }

  g_source_remove (timeout_id);
  g_main_loop_unref (wait.loop);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);
}

typedef struct
{
  guint     index;
  int       x, y;
  char     *sha256;
  TileSpec  spec;
} ReportTile;

typedef struct
{
  char       *file;
  int         width, height;
  int         view_x, view_y;  /* where the view is in it */
} Shot;

typedef struct
{
  guint       view1[4];        /* tiles, succeeded, cancelled, failed */
  double      step1;
  guint       n_tiles2;
  double      step2;
  guint       view3[4];        /* tiles, same as view 2, n-workers, mode */
  guint       crash_index;
  char       *crash_domain;
  int         crash_code;
  char       *crash_message;
  char       *tooltip;
  GArray     *tiles;           /* ReportTile */
  Shot        shot;            /* of the second view, complete */
  Shot        crash_shot;      /* of the second view, the crashed tile failed */
} Report;

static void
report_tile_clear (gpointer data)
{
  g_free (((ReportTile *) data)->sha256);
}

static void
report_free (Report *report)
{
  g_free (report->crash_domain);
  g_free (report->crash_message);
  g_free (report->tooltip);
  g_array_unref (report->tiles);
  g_free (report->shot.file);
  g_free (report->crash_shot.file);
  g_free (report);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Report, report_free)

static void
parse_tile (Report     *report,
            const char *line)
{
  g_auto(GStrv) fields = g_strsplit (line, " ", 6);
  g_autoptr(GVariant) input = NULL;
  g_autoptr(GError) error = NULL;
  ReportTile tile = { 0 };

  g_assert_cmpuint (g_strv_length (fields), ==, 6);
  tile.index = atoi (fields[1]);
  tile.x = atoi (fields[2]);
  tile.y = atoi (fields[3]);
  tile.sha256 = g_strdup (fields[4]);
  input = g_variant_parse (G_VARIANT_TYPE_VARDICT, fields[5], NULL, NULL, &error);
  g_assert_no_error (error);
  parse_spec (input, &tile.spec);
  g_array_append_val (report->tiles, tile);
}

static void
parse_line (Report     *report,
            const char *line)
{
  g_auto(GStrv) f = g_strsplit (line, " ", 5);
  guint n = g_strv_length (f);

  if (g_str_equal (f[0], "tile"))
    parse_tile (report, line);
  else if (g_str_equal (f[0], "tooltip"))
    report->tooltip = g_strdup (line + strlen ("tooltip "));
  else if (g_str_equal (f[0], "crash") && n == 5)
    {
      report->crash_index = atoi (f[1]);
      report->crash_domain = g_strdup (f[2]);
      report->crash_code = atoi (f[3]);
      report->crash_message = g_strdup (f[4]);
    }
  else if (g_str_equal (f[0], "view1"))
    {
      g_auto(GStrv) v = g_strsplit (line, " ", 0);

      g_assert_cmpuint (g_strv_length (v), ==, 7);
      for (guint i = 0; i < 4; i++)
        report->view1[i] = atoi (v[i + 1]);
      report->step1 = g_ascii_strtod (v[5], NULL);
      g_test_message ("first view settled %s ms after the zoom", v[6]);
    }
  else if (g_str_equal (f[0], "view3") && n == 5)
    {
      for (guint i = 0; i < 4; i++)
        report->view3[i] = atoi (f[i + 1]);
    }
  else if (g_str_equal (f[0], "view2") && n == 3)
    {
      report->n_tiles2 = atoi (f[1]);
      report->step2 = g_ascii_strtod (f[2], NULL);
    }
  else if (g_str_equal (f[0], "screenshot") && n == 5)
    {
      g_auto(GStrv) v = g_strsplit (line, " ", 0);
      Shot *shot = g_str_equal (f[1], "crash.png") ? &report->crash_shot : &report->shot;

      g_assert_cmpuint (g_strv_length (v), ==, 6);
      g_assert_null (shot->file);
      shot->file = g_strdup (v[1]);
      shot->width = atoi (v[2]);
      shot->height = atoi (v[3]);
      shot->view_x = atoi (v[4]);
      shot->view_y = atoi (v[5]);
    }
  else
    g_error ("Unexpected report line: %s", line);
}

static Report *
read_report (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "report.txt", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;
  Report *report = g_new0 (Report, 1);

  report->tiles = g_array_new (FALSE, TRUE, sizeof (ReportTile));
  g_array_set_clear_func (report->tiles, report_tile_clear);
  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);

  lines = g_strsplit (text, "\n", 0);
  for (guint i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '\0')
      parse_line (report, lines[i]);

  return report;
}

/* The first view was cancelled midway; the crash reached the tile with a
 * clear error, and its tooltip shows it. */
static void
check_cancel_and_crash (const Report *report)
{
  g_autofree char *signal_text = g_strdup_printf ("signal %d", SIGABRT);

  g_assert_cmpuint (report->view1[0], >, 0);
  g_assert_cmpuint (report->view1[1], >=, 1);
  g_assert_cmpuint (report->view1[2], >=, 1);
  g_assert_cmpuint (report->view1[3], ==, 0);
  g_assert_cmpuint (report->view1[1] + report->view1[2], ==, report->view1[0]);
  g_assert_cmpfloat (report->step2 * 2, ==, report->step1);

  g_assert_cmpstr (report->crash_domain, ==, g_quark_to_string (TW_ERROR));
  g_assert_cmpint (report->crash_code, ==, TW_ERROR_WORKER_CRASHED);
  g_assert_nonnull (strstr (report->crash_message, signal_text));
  g_assert_cmpuint (report->crash_index, <, report->n_tiles2);
  g_assert_nonnull (report->tooltip);
  g_assert_nonnull (strstr (report->tooltip, report->crash_message));
  g_assert_nonnull (strstr (report->tooltip, "Click to render it again"));
}

/* Switched to three worker threads, the demo rendered the same pixels. */
static void
check_threads (const Report *report)
{
  g_assert_cmpuint (report->view3[0], ==, report->n_tiles2);
  g_assert_cmpuint (report->view3[1], ==, report->n_tiles2);
  g_assert_cmpuint (report->view3[2], ==, 3);
  g_assert_cmpuint (report->view3[3], ==, TW_TROUPE_MODE_THREAD);
}

/* The tiles of the second view make one grid of one view: each index
 * once, one step, one centre, no gaps or overlaps. */
static void
check_geometry (const Report *report)
{
  const ReportTile *first = &g_array_index (report->tiles, ReportTile, 0);
  double left = first->spec.x0 - first->x * first->spec.step;
  double top = first->spec.y0 + first->y * first->spec.step;
  g_autofree gboolean *seen = g_new0 (gboolean, report->n_tiles2);
  int width = 0, height = 0;
  gint64 area = 0;

  g_assert_cmpuint (report->tiles->len, ==, report->n_tiles2);
  for (guint i = 0; i < report->tiles->len; i++)
    {
      const ReportTile *tile = &g_array_index (report->tiles, ReportTile, i);

      g_assert_cmpuint (tile->index, <, report->n_tiles2);
      g_assert_false (seen[tile->index]);
      seen[tile->index] = TRUE;
      g_assert_cmpfloat (tile->spec.step, ==, report->step2);
      g_assert_cmpfloat_with_epsilon (tile->spec.x0 - tile->x * tile->spec.step, left,
                                      report->step2 / 1000);
      g_assert_cmpfloat_with_epsilon (tile->spec.y0 + tile->y * tile->spec.step, top,
                                      report->step2 / 1000);
      width = MAX (width, tile->x + (int) tile->spec.width);
      height = MAX (height, tile->y + (int) tile->spec.height);
      area += (gint64) tile->spec.width * tile->spec.height;
    }

  g_assert_cmpint (area, ==, (gint64) width * height);
  g_assert_cmpint (report->shot.view_x + width, <=, report->shot.width);
  g_assert_cmpint (report->shot.view_y + height, <=, report->shot.height);
}

static guint32 *
load_shot (const Shot *shot,
           const char *dir)
{
  g_autofree char *path = g_build_filename (dir, shot->file, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkTexture) texture = gdk_texture_new_from_filename (path, &error);
  guint32 *argb;

  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (texture), ==, shot->width);
  g_assert_cmpint (gdk_texture_get_height (texture), ==, shot->height);
  argb = g_new (guint32, (gsize) shot->width * shot->height);
  gdk_texture_download (texture, (guchar *) argb, (gsize) shot->width * 4);

  return argb;
}

static guint32
shot_pixel (const Shot     *shot,
            const guint32  *argb,
            const ReportTile *tile,
            guint           col,
            guint           row)
{
  return argb[(gsize) (shot->view_y + tile->y + row) * shot->width + shot->view_x + tile->x + col];
}

/* Each tile's pixels, as the worker returned them and as the screenshot
 * shows them, are the ones computed here. */
static void
check_pixels (const Report *report,
              const char   *dir)
{
  g_autofree guint32 *shot = load_shot (&report->shot, dir);

  for (guint i = 0; i < report->tiles->len; i++)
    {
      const ReportTile *tile = &g_array_index (report->tiles, ReportTile, i);
      g_autofree guint8 *rgb = expected_pixels (&tile->spec);
      gsize size = (gsize) tile->spec.width * tile->spec.height * 3;
      g_autofree char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, rgb, size);

      g_assert_cmpstr (tile->sha256, ==, sum);
      for (guint row = 0; row < tile->spec.height; row++)
        for (guint col = 0; col < tile->spec.width; col++)
          {
            const guint8 *p = rgb + ((gsize) row * tile->spec.width + col) * 3;

            g_assert_cmphex (shot_pixel (&report->shot, shot, tile, col, row), ==,
                             0xff000000u | p[0] << 16 | p[1] << 8 | p[2]);
          }
    }
}

/* While it had failed, the crashed tile was red on screen. Its corners
 * show the colour; the middle has the word. */
static void
check_crash_shot (const Report *report,
                  const char   *dir)
{
  g_autofree guint32 *shot = load_shot (&report->crash_shot, dir);
  const ReportTile *tile = NULL;

  for (guint i = 0; i < report->tiles->len; i++)
    if (g_array_index (report->tiles, ReportTile, i).index == report->crash_index)
      tile = &g_array_index (report->tiles, ReportTile, i);
  g_assert_nonnull (tile);

  for (guint row = 0; row < 4; row++)
    for (guint col = 0; col < 4; col++)
      {
        guint32 argb = shot_pixel (&report->crash_shot, shot, tile, col, row);

        g_assert_cmpuint ((argb >> 16) & 0xff, >=, 160);
        g_assert_cmpuint ((argb >> 8) & 0xff, <=, 70);
        g_assert_cmpuint (argb & 0xff, <=, 80);
      }
}

/* Returns how many processes run @exe: the demo's workers must all be
 * gone with it. */
static guint
count_processes (const char *exe)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;
  guint count = 0;

  g_assert_nonnull (proc);
  while ((name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *link = g_build_filename ("/proc", name, "exe", NULL);
      g_autofree char *target = g_file_read_link (link, NULL);

      if (target != NULL && g_str_equal (target, exe))
        count++;
    }

  return count;
}

static void
test_gtk_demo_self_test (void)
{
  const char *demo = g_getenv ("TW_MANDELBROT");
  g_autofree char *xvfb_run = g_find_program_in_path ("xvfb-run");
  g_autofree char *exe = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(Report) report = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("Render, zoom while rendering, crash a worker, check every pixel");
  if (xvfb_run == NULL)
    {
      g_test_skip ("xvfb-run is not installed (Debian package xvfb)");
      return;
    }

  g_assert_nonnull (demo);
  exe = realpath (demo, NULL);
  g_assert_nonnull (exe);
  dir = g_dir_make_tmp ("tw-gtk-demo-XXXXXX", &error);
  g_assert_no_error (error);

  run_demo (xvfb_run, exe, dir);
  g_assert_cmpuint (count_processes (exe), ==, 0);

  report = read_report (dir);
  check_cancel_and_crash (report);
  check_geometry (report);
  check_pixels (report, dir);
  check_crash_shot (report, dir);
  check_threads (report);

  if (g_getenv ("TW_KEEP_SCREENSHOT") == NULL)
    {
      g_autofree char *shot = g_build_filename (dir, report->shot.file, NULL);
      g_autofree char *crash_shot = g_build_filename (dir, report->crash_shot.file, NULL);
      g_autofree char *text = g_build_filename (dir, "report.txt", NULL);

      g_assert_no_errno (g_unlink (shot));
      g_assert_no_errno (g_unlink (crash_shot));
      g_assert_no_errno (g_unlink (text));
      g_assert_no_errno (g_rmdir (dir));
    }
  else
    g_test_message ("screenshot kept in %s", dir);
}

int
main (int   argc,
      char *argv[])
{
  /* The workers of the progress test are this program run again. */
  tw_register_func (MANDELBROT_FUNC_NAME, mandelbrot_render_tile, NULL, NULL);
  tw_init ();
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/gtk-demo/tile-function", test_gtk_demo_tile_function);
  g_test_add_func ("/gtk-demo/tile-progress", test_gtk_demo_tile_progress);
  g_test_add_func ("/gtk-demo/self-test", test_gtk_demo_self_test);

  return g_test_run ();
}
