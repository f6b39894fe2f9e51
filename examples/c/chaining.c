/* chaining.c: a squaring troupe chained into a halving troupe
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

static GVariant *
halve (GVariant      *input,
       GCancellable  *cancellable,
       gpointer       user_data,
       GError       **error)
{
  return g_variant_new_double (g_variant_get_int64 (input) / 2.0);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(TwTroupe) squarer = NULL;
  g_autoptr(TwTroupe) halver = NULL;
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  ExampleOptions options;

  tw_register_func ("square", square, NULL, NULL);
  tw_register_func ("halve", halve, NULL, NULL);
  tw_init ();
  options = example_parse_options (&argc, &argv);

  squarer = tw_troupe_new_for_func_name ("square");
  halver = tw_troupe_new_for_func_name ("halve");
  example_configure (squarer, &options);
  example_configure (halver, &options);

  /* Each halving task is queued only once its square is known. */
  for (gint64 i = 0; i < 10; i++)
    {
      g_autoptr(TwFuture) squared = tw_troupe_submit (squarer, g_variant_new_int64 (i));

      g_ptr_array_add (futures, tw_troupe_submit_future (halver, squared));
    }

  example_print_results (futures);

  return EXIT_SUCCESS;
}
