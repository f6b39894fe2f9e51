/* square.c: square 0..9 on a troupe of workers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <tiny-worker.h>

#include "example-common.h"

static GVariant *
square (GVariant      *input,
        GCancellable  *cancellable,
        gpointer       user_data,
        GError       **error)
{
  gint64 x = g_variant_get_int64 (input);

  return g_variant_new_int64 (x * x);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(TwTroupe) troupe = NULL;
  ExampleOptions options;
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);

  /* Functions cross to worker processes by name. */
  tw_register_func ("square", square, NULL, NULL);
  tw_init ();
  options = example_parse_options (&argc, &argv);

  troupe = tw_troupe_new_for_func_name ("square");
  example_configure (troupe, &options);

  for (gint64 i = 0; i < 10; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i)));

  example_print_results (futures);

  return EXIT_SUCCESS;
}
