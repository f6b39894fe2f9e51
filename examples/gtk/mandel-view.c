/* mandel-view.c: a Mandelbrot view whose tiles render on a troupe
 *
 * Each tile is one task. The view submits them centre first and paints
 * each one when its future settles, in whatever order that happens. A new
 * view (zoom, pan, resize) cancels the tasks of the old one at once; its
 * pixels stay on screen, scaled, until the new tiles cover them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <math.h>

#include "mandel-view.h"
#include "mandel-tile.h"
#include "mandelbrot.h"

/* One submission of a tile: what the wait callback needs. */
typedef struct
{
  MandelView *view;          /* NULL once the view is disposed */
  MandelTile *tile;          /* a reference */
  TwFuture   *future;
  GVariant   *input;
} Job;

/* Pixels of an older view, placed by their complex coordinates. */
typedef struct
{
  GdkTexture *texture;
  double      left, top;     /* complex coordinates of the top left corner */
  double      step;
} Backdrop;

struct _MandelView
{
  GtkWidget   parent_instance;

  TwTroupe   *troupe;        /* renders the tiles; replaced on a mode or worker change */
  gboolean    process_mode;  /* the troupe's mode */
  guint       n_workers;     /* the troupe's n-workers */

  double      cx, cy;        /* the complex number at the widget's centre */
  double      step;          /* complex units per pixel; 0 until the first allocation */
  double      home_step;     /* the step that shows the whole set */
  int         width, height; /* the size the tiles were laid out for */
  double      drag_x, drag_y;  /* offset of the drag in progress */
  double      pointer_x, pointer_y;  /* where the pointer was last seen */

  guint       render_id;     /* the idle that renders after a resize */
  guint       generation;    /* counts renders */
  GPtrArray  *tiles;         /* MandelTile of the current render, by index */
  GPtrArray  *backdrop;      /* Backdrop shown under tiles not yet done */
  GHashTable *jobs;          /* Job whose future has not settled */
};

enum {
  PROP_0,
  PROP_TROUPE,
  PROP_PROCESS_MODE,
  PROP_N_WORKERS,
  PROP_N_TILES,
  PROP_DESCRIPTION,
  N_PROPS
};

enum {
  TILE_FINISHED,
  N_SIGNALS
};

static GParamSpec *properties [N_PROPS];
static guint signals [N_SIGNALS];

G_DEFINE_FINAL_TYPE (MandelView, mandel_view, GTK_TYPE_WIDGET)

#define MIN_STEP 1e-15
#define PAN_PIXELS 64.0

static void
job_free (Job *job)
{
  mandel_tile_unref (job->tile);
  g_object_unref (job->future);
  g_variant_unref (job->input);
  g_free (job);
}

static void
backdrop_free (gpointer data)
{
  Backdrop *backdrop = data;

  g_object_unref (backdrop->texture);
  g_free (backdrop);
}

static guint
max_iter_for (MandelView *self)
{
  double zoom = self->home_step / self->step;

  return 500 + (guint) (100 * log2 (MAX (zoom, 1.0)));
}

static void
job_finished_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Job *job = user_data;
  MandelView *self = job->view;
  MandelTile *tile = job->tile;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = tw_future_wait_finish (job->future, result, &error);
  g_autoptr(GBytes) pixels = NULL;

  if (self == NULL)
    {
      job_free (job);
      return;
    }

  g_hash_table_remove (self->jobs, job);
  if (tile->future == job->future)
    {
      mandel_tile_settle (tile, value, error);
      if (tile->generation == self->generation)
        gtk_widget_queue_draw (GTK_WIDGET (self));
    }

  if (value != NULL)
    pixels = g_variant_get_data_as_bytes (value);
  g_signal_emit (self, signals [TILE_FINISHED], 0,
                 tile->generation, tile->index, job->input, pixels, error);

  if (mandel_view_is_complete (self))
    g_ptr_array_set_size (self->backdrop, 0);

  job_free (job);
}

static void
ensure_troupe (MandelView *self)
{
  if (self->troupe != NULL)
    return;

  self->troupe = tw_troupe_new_for_func_name (MANDELBROT_FUNC_NAME);
  tw_troupe_set_mode (self->troupe,
                      self->process_mode ? TW_TROUPE_MODE_PROCESS : TW_TROUPE_MODE_THREAD);
  tw_troupe_set_n_workers (self->troupe, self->n_workers);
  g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_TROUPE]);
}

/* Submits @tile again, cancelling its previous submission. */
static void
submit_tile (MandelView *self,
             MandelTile *tile,
             gboolean    crash)
{
  Job *job;

  ensure_troupe (self);
  if (tile->future != NULL)
    tw_future_cancel (tile->future);

  job = g_new0 (Job, 1);
  job->view = self;
  job->tile = mandel_tile_ref (tile);
  job->input = g_variant_ref_sink (mandelbrot_tile_input_new (tile->x0, tile->y0, tile->step,
                                                              tile->width, tile->height,
                                                              tile->max_iter, crash));
  job->future = tw_troupe_submit (self->troupe, job->input);
  mandel_tile_reset (tile, job->future);
  g_hash_table_add (self->jobs, job);

  g_signal_connect_object (job->future, "notify::progress",
                           G_CALLBACK (gtk_widget_queue_draw), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (job->future, "notify::state",
                           G_CALLBACK (gtk_widget_queue_draw), self, G_CONNECT_SWAPPED);
  tw_future_wait_async (job->future, NULL, job_finished_cb, job);
}

/* Cancels the tiles of the current view, keeping their pixels as the
 * backdrop of the next one. */
static void
retire_tiles (MandelView *self)
{
  g_autoptr(GPtrArray) old = g_steal_pointer (&self->tiles);

  self->tiles = g_ptr_array_new_with_free_func (mandel_tile_unref);
  for (guint i = 0; i < old->len; i++)
    {
      MandelTile *tile = old->pdata[i];

      if (tile->future != NULL)
        tw_future_cancel (tile->future);

      if (tile->texture != NULL)
        {
          Backdrop *backdrop = g_new0 (Backdrop, 1);

          backdrop->texture = g_object_ref (tile->texture);
          backdrop->left = tile->x0 - tile->step / 2;
          backdrop->top = tile->y0 + tile->step / 2;
          backdrop->step = tile->step;
          g_ptr_array_add (self->backdrop, backdrop);
        }
    }

  /* Zooming faster than tiles arrive keeps the last few views only. */
  if (self->backdrop->len > 3 * old->len)
    g_ptr_array_remove_range (self->backdrop, 0, self->backdrop->len - 3 * old->len);
}

static int
compare_distance (gconstpointer a,
                  gconstpointer b,
                  gpointer      user_data)
{
  const MandelTile *ta = *(MandelTile * const *) a;
  const MandelTile *tb = *(MandelTile * const *) b;
  const MandelView *self = user_data;
  double da = hypot (ta->x + ta->width / 2.0 - self->width / 2.0,
                     ta->y + ta->height / 2.0 - self->height / 2.0);
  double db = hypot (tb->x + tb->width / 2.0 - self->width / 2.0,
                     tb->y + tb->height / 2.0 - self->height / 2.0);

  return (da > db) - (da < db);
}

static MandelTile *
tile_new (MandelView *self,
          int         x,
          int         y)
{
  MandelTile *tile = mandel_tile_new ();

  tile->generation = self->generation;
  tile->index = self->tiles->len;
  tile->x = x;
  tile->y = y;
  tile->width = MIN (MANDEL_TILE_SIZE, self->width - x);
  tile->height = MIN (MANDEL_TILE_SIZE, self->height - y);
  tile->step = self->step;
  tile->x0 = self->cx + (x + 0.5 - self->width / 2.0) * self->step;
  tile->y0 = self->cy - (y + 0.5 - self->height / 2.0) * self->step;
  tile->max_iter = max_iter_for (self);

  return tile;
}

/* Starts a new view: cancels the old tiles and submits the new ones,
 * nearest the centre first. */
static void
render (MandelView *self)
{
  g_autoptr(GPtrArray) order = g_ptr_array_new ();

  if (self->step <= 0 || self->width <= 0 || self->height <= 0)
    return;

  retire_tiles (self);
  self->generation++;
  for (int y = 0; y < self->height; y += MANDEL_TILE_SIZE)
    for (int x = 0; x < self->width; x += MANDEL_TILE_SIZE)
      g_ptr_array_add (self->tiles, tile_new (self, x, y));

  g_ptr_array_extend (order, self->tiles, NULL, NULL);
  g_ptr_array_sort_with_data (order, compare_distance, self);
  for (guint i = 0; i < order->len; i++)
    submit_tile (self, order->pdata[i], FALSE);

  g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_N_TILES]);
  g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_DESCRIPTION]);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static gboolean
render_idle_cb (gpointer user_data)
{
  MandelView *self = user_data;

  self->render_id = 0;
  render (self);
  return G_SOURCE_REMOVE;
}

static void
troupe_shut_down_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  GApplication *app = user_data;
  g_autoptr(GError) error = NULL;

  if (!tw_troupe_shutdown_finish (TW_TROUPE (source), result, &error))
    g_warning ("Shutting down a troupe: %s", error->message);

  if (app != NULL)
    {
      g_application_release (app);
      g_object_unref (app);
    }
}

/* Cancels every tile and shuts the troupe down without blocking. The
 * application stays alive until the workers have stopped. */
static void
retire_troupe (MandelView *self)
{
  GApplication *app = g_application_get_default ();
  g_autoptr(TwTroupe) troupe = g_steal_pointer (&self->troupe);

  retire_tiles (self);
  if (troupe == NULL)
    return;

  if (app != NULL)
    g_application_hold (g_object_ref (app));
  tw_troupe_shutdown_async (troupe, TW_SHUTDOWN_MODE_CANCEL_PENDING, NULL,
                            troupe_shut_down_cb, app);
}

static void
replace_troupe (MandelView *self)
{
  retire_troupe (self);
  ensure_troupe (self);
  render (self);
}

static MandelTile *
tile_at (MandelView *self,
         double      x,
         double      y)
{
  x -= self->drag_x;
  y -= self->drag_y;
  for (guint i = 0; i < self->tiles->len; i++)
    {
      MandelTile *tile = self->tiles->pdata[i];

      if (x >= tile->x && x < tile->x + tile->width && y >= tile->y && y < tile->y + tile->height)
        return tile;
    }

  return NULL;
}

static void
snapshot_backdrop (MandelView  *self,
                   GtkSnapshot *snapshot)
{
  for (guint i = 0; i < self->backdrop->len; i++)
    {
      Backdrop *backdrop = self->backdrop->pdata[i];
      double scale = backdrop->step / self->step;
      graphene_rect_t rect;

      graphene_rect_init (&rect,
                          (backdrop->left - self->cx) / self->step + self->width / 2.0,
                          (self->cy - backdrop->top) / self->step + self->height / 2.0,
                          gdk_texture_get_width (backdrop->texture) * scale,
                          gdk_texture_get_height (backdrop->texture) * scale);
      gtk_snapshot_append_texture (snapshot, backdrop->texture, &rect);
    }
}

static void
mandel_view_snapshot (GtkWidget   *widget,
                      GtkSnapshot *snapshot)
{
  MandelView *self = MANDEL_VIEW (widget);
  static const GdkRGBA background = { 0.12, 0.12, 0.14, 1 };
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);

  gtk_snapshot_append_color (snapshot, &background, &GRAPHENE_RECT_INIT (0, 0, width, height));
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (self->drag_x, self->drag_y));
  snapshot_backdrop (self, snapshot);
  for (guint i = 0; i < self->tiles->len; i++)
    mandel_tile_snapshot (self->tiles->pdata[i], widget, snapshot);
  gtk_snapshot_pop (snapshot);
}

static void
mandel_view_size_allocate (GtkWidget *widget,
                           int        width,
                           int        height,
                           int        baseline)
{
  MandelView *self = MANDEL_VIEW (widget);

  if (width == self->width && height == self->height)
    return;

  self->width = width;
  self->height = height;
  if (self->home_step == 0)
    {
      self->home_step = MAX (3.2 / width, 2.6 / height);
      self->step = self->home_step;
    }

  /* Not during allocation: the header bar shows the new description. A
   * resize in progress renders once. */
  if (self->render_id == 0)
    self->render_id = g_idle_add (render_idle_cb, self);
}

static gboolean
mandel_view_query_tooltip (GtkWidget  *widget,
                           int         x,
                           int         y,
                           gboolean    keyboard_mode,
                           GtkTooltip *tooltip)
{
  MandelView *self = MANDEL_VIEW (widget);
  MandelTile *tile = tile_at (self, x, y);
  g_autofree char *text = NULL;

  if (tile == NULL)
    return FALSE;

  text = mandel_view_dup_tile_tooltip (self, tile->index);
  gtk_tooltip_set_text (tooltip, text);
  gtk_tooltip_set_tip_area (tooltip,
                            &(GdkRectangle) { tile->x + self->drag_x, tile->y + self->drag_y,
                                              tile->width, tile->height });
  return TRUE;
}

static void
click_released_cb (GtkGestureClick *gesture,
                   int              n_press,
                   double           x,
                   double           y,
                   MandelView      *self)
{
  MandelTile *tile = tile_at (self, x, y);

  gtk_widget_grab_focus (GTK_WIDGET (self));
  if (n_press == 2)
    mandel_view_zoom (self, 2.0, x, y);
  else if (tile != NULL && tile->state == MANDEL_TILE_FAILED)
    mandel_view_retry_tile (self, tile->index);
}

static void
drag_update_cb (GtkGestureDrag *gesture,
                double          dx,
                double          dy,
                MandelView     *self)
{
  self->drag_x = dx;
  self->drag_y = dy;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
drag_end_cb (GtkGestureDrag *gesture,
             double          dx,
             double          dy,
             MandelView     *self)
{
  self->drag_x = self->drag_y = 0;
  if (dx != 0 || dy != 0)
    mandel_view_pan (self, -dx, -dy);
}

static void
motion_cb (GtkEventControllerMotion *controller,
           double                    x,
           double                    y,
           MandelView               *self)
{
  self->pointer_x = x;
  self->pointer_y = y;
}

/* Zooms about the pointer. */
static gboolean
scroll_cb (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           MandelView               *self)
{
  if (dy == 0)
    return FALSE;

  mandel_view_zoom (self, dy < 0 ? 1.25 : 0.8, self->pointer_x, self->pointer_y);
  return TRUE;
}

static void
mandel_view_dispose (GObject *object)
{
  MandelView *self = MANDEL_VIEW (object);
  GHashTableIter iter;
  Job *job;

  g_clear_handle_id (&self->render_id, g_source_remove);
  g_hash_table_iter_init (&iter, self->jobs);
  /* Each job stays alive until its wait callback runs. */
  while (g_hash_table_iter_next (&iter, (gpointer *) &job, NULL))
    job->view = NULL;
  g_hash_table_remove_all (self->jobs);

  retire_troupe (self);
  g_ptr_array_set_size (self->backdrop, 0);

  G_OBJECT_CLASS (mandel_view_parent_class)->dispose (object);
}

static void
mandel_view_finalize (GObject *object)
{
  MandelView *self = MANDEL_VIEW (object);

  g_ptr_array_unref (self->tiles);
  g_ptr_array_unref (self->backdrop);
  g_hash_table_unref (self->jobs);

  G_OBJECT_CLASS (mandel_view_parent_class)->finalize (object);
}

static char *
describe (MandelView *self)
{
  if (self->step <= 0)
    return g_strdup ("");

  return g_strdup_printf ("%.10g %c %.10gi  ·  %.4g×", self->cx, self->cy < 0 ? '-' : '+',
                          fabs (self->cy), self->home_step / self->step);
}

static void
mandel_view_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  MandelView *self = MANDEL_VIEW (object);

  switch (prop_id)
    {
    case PROP_TROUPE:
      g_value_set_object (value, self->troupe);
      break;
    case PROP_PROCESS_MODE:
      g_value_set_boolean (value, self->process_mode);
      break;
    case PROP_N_WORKERS:
      g_value_set_uint (value, self->n_workers);
      break;
    case PROP_N_TILES:
      g_value_set_uint (value, self->tiles->len);
      break;
    case PROP_DESCRIPTION:
      g_value_take_string (value, describe (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
mandel_view_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  MandelView *self = MANDEL_VIEW (object);

  switch (prop_id)
    {
    case PROP_PROCESS_MODE:
      mandel_view_set_process_mode (self, g_value_get_boolean (value));
      break;
    case PROP_N_WORKERS:
      mandel_view_set_n_workers (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
action_zoom (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  mandel_view_zoom (MANDEL_VIEW (widget), g_variant_get_double (parameter),
                    gtk_widget_get_width (widget) / 2.0, gtk_widget_get_height (widget) / 2.0);
}

static void
action_pan (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  double dx, dy;

  g_variant_get (parameter, "(dd)", &dx, &dy);
  mandel_view_pan (MANDEL_VIEW (widget), dx, dy);
}

static void
action_reset (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  mandel_view_reset (MANDEL_VIEW (widget));
}

static void
add_key_bindings (GtkWidgetClass *widget_class)
{
  static const guint zoom_in[] = { GDK_KEY_plus, GDK_KEY_equal, GDK_KEY_KP_Add };
  static const guint zoom_out[] = { GDK_KEY_minus, GDK_KEY_KP_Subtract };
  static const struct { guint key; double dx, dy; } pan[] = {
    { GDK_KEY_Left, -PAN_PIXELS, 0 }, { GDK_KEY_Right, PAN_PIXELS, 0 },
    { GDK_KEY_Up, 0, -PAN_PIXELS }, { GDK_KEY_Down, 0, PAN_PIXELS },
  };

  gtk_widget_class_install_action (widget_class, "view.zoom", "d", action_zoom);
  gtk_widget_class_install_action (widget_class, "view.pan", "(dd)", action_pan);
  gtk_widget_class_install_action (widget_class, "view.reset", NULL, action_reset);

  for (guint i = 0; i < G_N_ELEMENTS (zoom_in); i++)
    gtk_widget_class_add_binding_action (widget_class, zoom_in[i], 0, "view.zoom", "d", 2.0);
  for (guint i = 0; i < G_N_ELEMENTS (zoom_out); i++)
    gtk_widget_class_add_binding_action (widget_class, zoom_out[i], 0, "view.zoom", "d", 0.5);
  for (guint i = 0; i < G_N_ELEMENTS (pan); i++)
    gtk_widget_class_add_binding_action (widget_class, pan[i].key, 0, "view.pan", "(dd)",
                                         pan[i].dx, pan[i].dy);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Home, 0, "view.reset", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, 0, "view.reset", NULL);
}

static void
mandel_view_class_init (MandelViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mandel_view_dispose;
  object_class->finalize = mandel_view_finalize;
  object_class->get_property = mandel_view_get_property;
  object_class->set_property = mandel_view_set_property;
  widget_class->snapshot = mandel_view_snapshot;
  widget_class->size_allocate = mandel_view_size_allocate;
  widget_class->query_tooltip = mandel_view_query_tooltip;

  properties [PROP_TROUPE] =
    g_param_spec_object ("troupe", NULL, "The troupe that renders the tiles", TW_TYPE_TROUPE,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties [PROP_PROCESS_MODE] =
    g_param_spec_boolean ("process-mode", NULL, "Whether workers are processes", TRUE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                           G_PARAM_STATIC_STRINGS));
  properties [PROP_N_WORKERS] =
    g_param_spec_uint ("n-workers", NULL, "How many workers render", 1, 64, 4,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties [PROP_N_TILES] =
    g_param_spec_uint ("n-tiles", NULL, "How many tiles the view has", 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties [PROP_DESCRIPTION] =
    g_param_spec_string ("description", NULL, "The centre and zoom level", NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Emitted on the main thread for every submission that settles,
   * superseded ones included: (generation, index, input, pixels, error). */
  signals [TILE_FINISHED] =
    g_signal_new ("tile-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 5, G_TYPE_UINT, G_TYPE_UINT,
                  G_TYPE_VARIANT | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_BYTES | G_SIGNAL_TYPE_STATIC_SCOPE,
                  G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);

  add_key_bindings (widget_class);
  gtk_widget_class_set_css_name (widget_class, "mandelview");
}

static void
mandel_view_init (MandelView *self)
{
  GtkGesture *click = gtk_gesture_click_new ();
  GtkGesture *drag = gtk_gesture_drag_new ();
  GtkEventController *scroll =
    gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  GtkEventController *motion = gtk_event_controller_motion_new ();

  self->process_mode = TRUE;
  self->n_workers = CLAMP (g_get_num_processors (), 1, 64);
  self->cx = -0.6;
  self->tiles = g_ptr_array_new_with_free_func (mandel_tile_unref);
  self->backdrop = g_ptr_array_new_with_free_func (backdrop_free);
  self->jobs = g_hash_table_new (NULL, NULL);

  g_signal_connect (click, "released", G_CALLBACK (click_released_cb), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (drag_update_cb), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (drag_end_cb), self);
  g_signal_connect (scroll, "scroll", G_CALLBACK (scroll_cb), self);
  g_signal_connect (motion, "enter", G_CALLBACK (motion_cb), self);
  g_signal_connect (motion, "motion", G_CALLBACK (motion_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));
  gtk_widget_add_controller (GTK_WIDGET (self), scroll);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);

  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
}

GtkWidget *
mandel_view_new (void)
{
  return g_object_new (MANDEL_TYPE_VIEW, NULL);
}

TwTroupe *
mandel_view_get_troupe (MandelView *self)
{
  g_return_val_if_fail (MANDEL_IS_VIEW (self), NULL);

  ensure_troupe (self);
  return self->troupe;
}

gboolean
mandel_view_get_process_mode (MandelView *self)
{
  g_return_val_if_fail (MANDEL_IS_VIEW (self), FALSE);

  return self->process_mode;
}

void
mandel_view_set_process_mode (MandelView *self,
                              gboolean    process_mode)
{
  g_return_if_fail (MANDEL_IS_VIEW (self));

  process_mode = !!process_mode;
  if (self->process_mode == process_mode)
    return;

  self->process_mode = process_mode;
  replace_troupe (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_PROCESS_MODE]);
}

guint
mandel_view_get_n_workers (MandelView *self)
{
  g_return_val_if_fail (MANDEL_IS_VIEW (self), 0);

  return self->n_workers;
}

void
mandel_view_set_n_workers (MandelView *self,
                           guint       n_workers)
{
  g_return_if_fail (MANDEL_IS_VIEW (self));

  n_workers = CLAMP (n_workers, 1, 64);
  if (self->n_workers == n_workers)
    return;

  self->n_workers = n_workers;
  replace_troupe (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_N_WORKERS]);
}

guint
mandel_view_get_n_tiles (MandelView *self)
{
  g_return_val_if_fail (MANDEL_IS_VIEW (self), 0);

  return self->tiles->len;
}

guint
mandel_view_get_generation (MandelView *self)
{
  g_return_val_if_fail (MANDEL_IS_VIEW (self), 0);

  return self->generation;
}

double
mandel_view_get_step (MandelView *self)
{
  g_return_val_if_fail (MANDEL_IS_VIEW (self), 0);

  return self->step;
}

/* Whether every tile of the current view has its pixels. */
gboolean
mandel_view_is_complete (MandelView *self)
{
  g_return_val_if_fail (MANDEL_IS_VIEW (self), FALSE);

  for (guint i = 0; i < self->tiles->len; i++)
    if (((MandelTile *) self->tiles->pdata[i])->state != MANDEL_TILE_DONE)
      return FALSE;

  return self->tiles->len > 0;
}

void
mandel_view_get_tile_rect (MandelView   *self,
                           guint         index,
                           GdkRectangle *rect)
{
  MandelTile *tile;

  g_return_if_fail (MANDEL_IS_VIEW (self));
  g_return_if_fail (index < self->tiles->len);

  tile = self->tiles->pdata[index];
  *rect = (GdkRectangle) { tile->x, tile->y, tile->width, tile->height };
}

char *
mandel_view_dup_tile_tooltip (MandelView *self,
                              guint       index)
{
  g_return_val_if_fail (MANDEL_IS_VIEW (self), NULL);
  g_return_val_if_fail (index < self->tiles->len, NULL);

  return mandel_tile_dup_tooltip (self->tiles->pdata[index]);
}

/* Zooms by @factor, keeping the point at @x, @y (view pixels) in place. */
void
mandel_view_zoom (MandelView *self,
                  double      factor,
                  double      x,
                  double      y)
{
  double re, im, step;

  g_return_if_fail (MANDEL_IS_VIEW (self));
  g_return_if_fail (factor > 0);

  if (self->step <= 0)
    return;

  step = CLAMP (self->step / factor, MIN_STEP, self->home_step * 4);
  re = self->cx + (x - self->width / 2.0) * self->step;
  im = self->cy - (y - self->height / 2.0) * self->step;
  self->cx = re - (x - self->width / 2.0) * step;
  self->cy = im + (y - self->height / 2.0) * step;
  self->step = step;
  render (self);
}

/* Moves the view by @dx, @dy pixels. */
void
mandel_view_pan (MandelView *self,
                 double      dx,
                 double      dy)
{
  g_return_if_fail (MANDEL_IS_VIEW (self));

  self->cx += dx * self->step;
  self->cy -= dy * self->step;
  render (self);
}

void
mandel_view_reset (MandelView *self)
{
  g_return_if_fail (MANDEL_IS_VIEW (self));

  self->cx = -0.6;
  self->cy = 0;
  self->step = self->home_step;
  render (self);
}

/* Renders the centre tile again with "crash" set in its input, so that
 * the worker that takes it aborts. Process mode only: in thread mode the
 * abort would take the application down. Returns the tile's index. */
guint
mandel_view_crash_worker (MandelView *self)
{
  MandelTile *tile;

  g_return_val_if_fail (MANDEL_IS_VIEW (self), 0);
  g_return_val_if_fail (self->process_mode, 0);
  g_return_val_if_fail (self->tiles->len > 0, 0);

  tile = tile_at (self, self->width / 2.0 + self->drag_x, self->height / 2.0 + self->drag_y);
  submit_tile (self, tile, TRUE);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return tile->index;
}

void
mandel_view_retry_tile (MandelView *self,
                        guint       index)
{
  g_return_if_fail (MANDEL_IS_VIEW (self));
  g_return_if_fail (index < self->tiles->len);

  submit_tile (self, self->tiles->pdata[index], FALSE);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}
