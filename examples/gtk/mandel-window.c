/* mandel-window.c: the demo's main window
 *
 * The status bar shows the troupe's counters through property bindings:
 * the troupe notifies them in the main context, so nothing polls.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "mandel-window.h"

typedef enum
{
  COUNTER_QUEUED,
  COUNTER_RUNNING,
  COUNTER_SUCCEEDED,
  COUNTER_FAILED,
  COUNTER_CANCELLED,
  N_COUNTERS
} Counter;

static const struct {
  const char *property;
  const char *suffix;
} counters[N_COUNTERS + 1] = {
  { "n-queued", "queued" },
  { "n-running", "running" },
  { "n-succeeded", "done" },
  { "n-failed", "failed" },
  { "n-cancelled", "cancelled" },
  { "n-completed", NULL },        /* for the progress bar only */
};

struct _MandelWindow
{
  GtkApplicationWindow  parent_instance;

  MandelView           *view;
  GtkProgressBar       *progress;
  GtkLabel             *counter_labels[N_COUNTERS];
  GBinding             *bindings[N_COUNTERS + 3];  /* to the current troupe; the last three, progress */
};

G_DEFINE_FINAL_TYPE (MandelWindow, mandel_window, GTK_TYPE_APPLICATION_WINDOW)

static gboolean
counter_to_label (GBinding     *binding,
                  const GValue *from,
                  GValue       *to,
                  gpointer      user_data)
{
  g_value_take_string (to, g_strdup_printf ("%u %s", g_value_get_uint (from),
                                            (const char *) user_data));
  return TRUE;
}

/* The share of the current view that is no longer queued or running.
 * Tiles of an older view still being cancelled hold it back a moment.
 * Bound from each counter that moves it, as the troupe notifies only the
 * counters that changed since its last notification. */
static gboolean
pending_to_fraction (GBinding     *binding,
                       const GValue *from,
                       GValue       *to,
                       gpointer      user_data)
{
  MandelWindow *self = user_data;
  TwTroupe *troupe = TW_TROUPE (g_binding_dup_source (binding));
  guint n_tiles = mandel_view_get_n_tiles (self->view);
  guint pending = tw_troupe_get_n_queued (troupe) + tw_troupe_get_n_running (troupe);

  g_object_unref (troupe);
  if (n_tiles == 0 || pending >= n_tiles)
    g_value_set_double (to, pending == 0 ? 1.0 : 0.0);
  else
    g_value_set_double (to, 1.0 - (double) pending / n_tiles);

  return TRUE;
}

static void
bind_troupe (MandelWindow *self)
{
  TwTroupe *troupe = mandel_view_get_troupe (self->view);

  for (guint i = 0; i < G_N_ELEMENTS (self->bindings); i++)
    if (self->bindings[i] != NULL)
      g_binding_unbind (g_steal_pointer (&self->bindings[i]));

  for (guint i = 0; i < N_COUNTERS; i++)
    self->bindings[i] =
      g_object_bind_property_full (troupe, counters[i].property,
                                   self->counter_labels[i], "label",
                                   G_BINDING_SYNC_CREATE, counter_to_label, NULL,
                                   (gpointer) counters[i].suffix, NULL);

  for (guint i = 0; i < 3; i++)
    self->bindings[N_COUNTERS + i] =
      g_object_bind_property_full (troupe, counters[i == 2 ? N_COUNTERS : i].property, self->progress, "fraction",
                                   G_BINDING_SYNC_CREATE, pending_to_fraction, NULL,
                                   self, NULL);
}

static void
view_changed_cb (MandelWindow *self)
{
  /* A new view starts from nothing; the binding takes over as its tiles
   * complete. */
  gtk_progress_bar_set_fraction (self->progress, 0.0);
}

static void
zoom_in_activated (GSimpleAction *action,
                   GVariant      *parameter,
                   gpointer       user_data)
{
  gtk_widget_activate_action (GTK_WIDGET (MANDEL_WINDOW (user_data)->view), "view.zoom", "d", 2.0);
}

static void
zoom_out_activated (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  gtk_widget_activate_action (GTK_WIDGET (MANDEL_WINDOW (user_data)->view), "view.zoom", "d", 0.5);
}

static void
reset_activated (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  mandel_view_reset (MANDEL_WINDOW (user_data)->view);
}

static void
crash_activated (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  MandelView *view = MANDEL_WINDOW (user_data)->view;

  if (mandel_view_get_process_mode (view) && mandel_view_get_n_tiles (view) > 0)
    mandel_view_crash_worker (view);
}

static GtkWidget *
icon_button (const char *icon_name,
             const char *action_name,
             const char *tooltip)
{
  GtkWidget *button = gtk_button_new_from_icon_name (icon_name);

  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action_name);
  gtk_widget_set_tooltip_text (button, tooltip);
  return button;
}

static GtkWidget *
title_widget (MandelWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *title = gtk_label_new ("Mandelbrot");
  GtkWidget *subtitle = gtk_label_new (NULL);

  gtk_widget_add_css_class (title, "title");
  gtk_widget_add_css_class (subtitle, "subtitle");
  gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), subtitle);
  g_object_bind_property (self->view, "description", subtitle, "label", G_BINDING_SYNC_CREATE);
  return box;
}

static GtkWidget *
start_label (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  return label;
}

static GtkWidget *
settings_menu (MandelWindow *self)
{
  GtkWidget *grid = gtk_grid_new ();
  GtkWidget *process_switch = gtk_switch_new ();
  GtkWidget *workers = gtk_spin_button_new_with_range (1, 64, 1);
  GtkWidget *popover = gtk_popover_new ();
  GtkWidget *button = gtk_menu_button_new ();

  gtk_grid_set_row_spacing (GTK_GRID (grid), 12);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 24);
  gtk_widget_set_halign (process_switch, GTK_ALIGN_END);
  gtk_grid_attach (GTK_GRID (grid), start_label ("Worker processes"), 0, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), process_switch, 1, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), start_label ("Workers"), 0, 1, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), workers, 1, 1, 1, 1);
  gtk_widget_set_tooltip_text (process_switch,
                               "Run the workers as child processes rather than threads");

  g_object_bind_property (self->view, "process-mode", process_switch, "active",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  g_object_bind_property (self->view, "n-workers", workers, "value",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);

  gtk_popover_set_child (GTK_POPOVER (popover), grid);
  gtk_menu_button_set_popover (GTK_MENU_BUTTON (button), popover);
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (button), "emblem-system-symbolic");
  gtk_widget_set_tooltip_text (button, "Workers");
  return button;
}

static GtkWidget *
header_bar (MandelWindow *self)
{
  GtkWidget *header = gtk_header_bar_new ();
  GtkWidget *crash = gtk_button_new_with_mnemonic ("_Crash a Worker");

  gtk_header_bar_pack_start (GTK_HEADER_BAR (header),
                             icon_button ("zoom-out-symbolic", "win.zoom-out", "Zoom Out"));
  gtk_header_bar_pack_start (GTK_HEADER_BAR (header),
                             icon_button ("zoom-in-symbolic", "win.zoom-in", "Zoom In"));
  gtk_header_bar_pack_start (GTK_HEADER_BAR (header),
                             icon_button ("zoom-original-symbolic", "win.reset", "Reset View"));
  gtk_header_bar_set_title_widget (GTK_HEADER_BAR (header), title_widget (self));

  gtk_actionable_set_action_name (GTK_ACTIONABLE (crash), "win.crash");
  gtk_widget_add_css_class (crash, "destructive-action");
  gtk_widget_set_tooltip_text (crash, "Render the centre tile in a worker that aborts "
                                      "(worker processes only)");
  gtk_header_bar_pack_end (GTK_HEADER_BAR (header), settings_menu (self));
  gtk_header_bar_pack_end (GTK_HEADER_BAR (header), crash);
  return header;
}

static GtkWidget *
status_bar (MandelWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);

  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);

  self->progress = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_widget_set_hexpand (GTK_WIDGET (self->progress), TRUE);
  gtk_widget_set_valign (GTK_WIDGET (self->progress), GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->progress));

  for (guint i = 0; i < N_COUNTERS; i++)
    {
      self->counter_labels[i] = GTK_LABEL (gtk_label_new (NULL));
      gtk_label_set_width_chars (self->counter_labels[i], 12);
      gtk_label_set_xalign (self->counter_labels[i], 1.0);
      gtk_widget_add_css_class (GTK_WIDGET (self->counter_labels[i]), "numeric");
      gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->counter_labels[i]));
    }

  return box;
}

static void
add_actions (MandelWindow *self)
{
  static const GActionEntry entries[] = {
    { "zoom-in", zoom_in_activated },
    { "zoom-out", zoom_out_activated },
    { "reset", reset_activated },
    { "crash", crash_activated },
  };
  GAction *crash;

  g_action_map_add_action_entries (G_ACTION_MAP (self), entries, G_N_ELEMENTS (entries), self);
  crash = g_action_map_lookup_action (G_ACTION_MAP (self), "crash");
  g_object_bind_property (self->view, "process-mode", crash, "enabled", G_BINDING_SYNC_CREATE);
}

static void
mandel_window_class_init (MandelWindowClass *klass)
{
}

static void
mandel_window_init (MandelWindow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);

  self->view = MANDEL_VIEW (mandel_view_new ());
  gtk_window_set_title (GTK_WINDOW (self), "Mandelbrot");
  gtk_window_set_default_size (GTK_WINDOW (self), 960, 720);
  gtk_window_set_titlebar (GTK_WINDOW (self), header_bar (self));

  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->view));
  gtk_box_append (GTK_BOX (box), gtk_separator_new (GTK_ORIENTATION_HORIZONTAL));
  gtk_box_append (GTK_BOX (box), status_bar (self));
  gtk_window_set_child (GTK_WINDOW (self), box);

  add_actions (self);
  bind_troupe (self);
  g_signal_connect_object (self->view, "notify::troupe",
                           G_CALLBACK (bind_troupe), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->view, "notify::description",
                           G_CALLBACK (view_changed_cb), self, G_CONNECT_SWAPPED);
  gtk_widget_grab_focus (GTK_WIDGET (self->view));
}

GtkWidget *
mandel_window_new (GtkApplication *app)
{
  return g_object_new (MANDEL_TYPE_WINDOW, "application", app, NULL);
}

/* Whether the status bar shows that the troupe has nothing to do. */
gboolean
mandel_window_is_idle (MandelWindow *self)
{
  g_return_val_if_fail (MANDEL_IS_WINDOW (self), FALSE);

  return (g_str_equal (gtk_label_get_label (self->counter_labels[COUNTER_QUEUED]), "0 queued") &&
          g_str_equal (gtk_label_get_label (self->counter_labels[COUNTER_RUNNING]), "0 running") &&
          gtk_progress_bar_get_fraction (self->progress) == 1.0);
}

MandelView *
mandel_window_get_view (MandelWindow *self)
{
  g_return_val_if_fail (MANDEL_IS_WINDOW (self), NULL);

  return self->view;
}
