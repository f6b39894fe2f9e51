/* example-common.h: option parsing and output shared by the C examples
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <stdlib.h>
#include <tiny-worker.h>

typedef struct
{
  TwTroupeMode mode;
  guint        n_workers;
} ExampleOptions;

/* Parses --mode=thread|process and --workers=N, and exits with a message
 * on bad options. */
static inline ExampleOptions
example_parse_options (int    *argc,
                       char ***argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *mode = NULL;
  int workers = 4;
  GOptionEntry entries[] = {
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode, "thread (default) or process", "MODE" },
    { "workers", 0, 0, G_OPTION_ARG_INT, &workers, "number of workers (default 4)", "N" },
    { NULL }
  };

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, &error) || workers < 1 ||
      (mode != NULL && !g_str_equal (mode, "thread") && !g_str_equal (mode, "process")))
    {
      g_printerr ("%s\nUsage: %s [--mode=thread|process] [--workers=N]\n",
                  error ? error->message : "Bad option", g_get_prgname ());
      exit (EXIT_FAILURE);
    }

  return (ExampleOptions) {
    .mode = g_strcmp0 (mode, "process") == 0 ? TW_TROUPE_MODE_PROCESS : TW_TROUPE_MODE_THREAD,
    .n_workers = workers,
  };
}

static inline void
example_configure (TwTroupe             *troupe,
                   const ExampleOptions *options)
{
  tw_troupe_set_mode (troupe, options->mode);
  tw_troupe_set_n_workers (troupe, options->n_workers);
}

/* Waits for each future and prints the values as a Python list, so the
 * output reads the same in C, Python and JavaScript. */
static inline void
example_print_results (GPtrArray *futures)
{
  g_autoptr(GString) line = g_string_new ("[");

  for (guint i = 0; i < futures->len; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = tw_future_wait (futures->pdata[i], -1, &error);
      char buf[G_ASCII_DTOSTR_BUF_SIZE];

      if (value == NULL)
        {
          g_printerr ("Task %u failed: %s\n", i, error->message);
          exit (EXIT_FAILURE);
        }

      if (i > 0)
        g_string_append (line, ", ");

      if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        g_string_append_printf (line, "'%s'", g_variant_get_string (value, NULL));
      else if (g_variant_is_of_type (value, G_VARIANT_TYPE_DOUBLE))
        {
          g_ascii_dtostr (buf, sizeof buf, g_variant_get_double (value));
          g_string_append (line, buf);
          if (strpbrk (buf, ".eni") == NULL)
            g_string_append (line, ".0");
        }
      else
        g_string_append_printf (line, "%" G_GINT64_FORMAT, g_variant_get_int64 (value));
    }

  g_string_append (line, "]");
  g_print ("%s\n", line->str);
}
