/* main.c: a Mandelbrot explorer whose tiles render on a tiny-worker troupe
 *
 * In process mode (the default) the workers are this program run again:
 * tw_init() at the top of main() serves their tasks, before GTK starts.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>

#include "mandelbrot.h"
#include "mandel-window.h"
#include "self-test.h"

static gboolean self_test;
static char *output_dir;
static gboolean threads;
static int workers;
static int self_test_status = EXIT_SUCCESS;

static const GOptionEntry options[] = {
  { "threads", 't', 0, G_OPTION_ARG_NONE, &threads, "Start with worker threads, not processes", NULL },
  { "workers", 'w', 0, G_OPTION_ARG_INT, &workers, "Number of workers (default: one per CPU)", "N" },
  { "self-test", 0, 0, G_OPTION_ARG_NONE, &self_test, "Run the test scenario and exit", NULL },
  { "output-dir", 0, 0, G_OPTION_ARG_FILENAME, &output_dir,
    "Where --self-test writes its report and screenshot (default: .)", "DIR" },
  { NULL }
};

static void
activate_cb (GtkApplication *app)
{
  GtkWidget *window = mandel_window_new (app);
  MandelView *view = mandel_window_get_view (MANDEL_WINDOW (window));

  mandel_view_set_process_mode (view, !threads);
  if (workers > 0)
    mandel_view_set_n_workers (view, workers);
  if (self_test)
    mandel_self_test_start (MANDEL_WINDOW (window), output_dir ? output_dir : ".",
                            &self_test_status);

  gtk_window_present (GTK_WINDOW (window));
}

static void
startup_cb (GtkApplication *app)
{
  static const char *zoom_in[] = { "<Control>plus", "<Control>equal", NULL };
  static const char *zoom_out[] = { "<Control>minus", NULL };
  static const char *reset[] = { "<Control>0", NULL };
  static const char *close[] = { "<Control>w", "<Control>q", NULL };

  gtk_application_set_accels_for_action (app, "win.zoom-in", zoom_in);
  gtk_application_set_accels_for_action (app, "win.zoom-out", zoom_out);
  gtk_application_set_accels_for_action (app, "win.reset", reset);
  gtk_application_set_accels_for_action (app, "window.close", close);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GtkApplication) app = NULL;
  int status;

  /* A worker process serves tasks here and never returns. */
  tw_register_func (MANDELBROT_FUNC_NAME, mandelbrot_render_tile, NULL, NULL);
  tw_init ();

  app = gtk_application_new ("org.tinyworker.Mandelbrot", G_APPLICATION_NON_UNIQUE);
  g_application_add_main_option_entries (G_APPLICATION (app), options);
  g_signal_connect (app, "startup", G_CALLBACK (startup_cb), NULL);
  g_signal_connect (app, "activate", G_CALLBACK (activate_cb), NULL);
  status = g_application_run (G_APPLICATION (app), argc, argv);
  g_free (output_dir);

  return status != EXIT_SUCCESS ? status : self_test_status;
}
