/* mandel-window.h: the demo's main window
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gtk/gtk.h>

#include "mandel-view.h"

G_BEGIN_DECLS

#define MANDEL_TYPE_WINDOW (mandel_window_get_type ())

G_DECLARE_FINAL_TYPE (MandelWindow, mandel_window, MANDEL, WINDOW, GtkApplicationWindow)

GtkWidget  *mandel_window_new      (GtkApplication *app);
MandelView *mandel_window_get_view (MandelWindow   *self);
gboolean    mandel_window_is_idle  (MandelWindow   *self);

G_END_DECLS
