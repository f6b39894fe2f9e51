/* connected-worker.c: a worker configured by a construct property, which
 * it "connects" to once in its setup step and uses in every call
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <tiny-worker.h>

#include "example-common.h"

#define EXAMPLE_TYPE_CONNECTED_WORKER (example_connected_worker_get_type ())
G_DECLARE_FINAL_TYPE (ExampleConnectedWorker, example_connected_worker,
                      EXAMPLE, CONNECTED_WORKER, TwWorker)

struct _ExampleConnectedWorker
{
  TwWorker  parent_instance;
  char     *foo;         /* construct property */
  char     *connection;  /* made once, in setup */
};

enum {
  PROP_0,
  PROP_FOO,
  N_PROPS
};

G_DEFINE_FINAL_TYPE (ExampleConnectedWorker, example_connected_worker, TW_TYPE_WORKER)

static gboolean
example_connected_worker_setup (TwWorker      *worker,
                                GCancellable  *cancellable,
                                GError       **error)
{
  ExampleConnectedWorker *self = EXAMPLE_CONNECTED_WORKER (worker);

  self->connection = g_strdup (self->foo);

  return TRUE;
}

static GVariant *
example_connected_worker_call (TwWorker      *worker,
                               GVariant      *input,
                               GCancellable  *cancellable,
                               GError       **error)
{
  ExampleConnectedWorker *self = EXAMPLE_CONNECTED_WORKER (worker);

  return g_variant_new_take_string (g_strdup_printf ("%s:%" G_GINT64_FORMAT,
                                                     self->connection,
                                                     g_variant_get_int64 (input)));
}

static void
example_connected_worker_teardown (TwWorker *worker)
{
  ExampleConnectedWorker *self = EXAMPLE_CONNECTED_WORKER (worker);

  g_clear_pointer (&self->connection, g_free);
}

static void
example_connected_worker_finalize (GObject *object)
{
  ExampleConnectedWorker *self = EXAMPLE_CONNECTED_WORKER (object);

  g_free (self->foo);
  g_free (self->connection);

  G_OBJECT_CLASS (example_connected_worker_parent_class)->finalize (object);
}

static void
example_connected_worker_set_property (GObject      *object,
                                       guint         prop_id,
                                       const GValue *value,
                                       GParamSpec   *pspec)
{
  ExampleConnectedWorker *self = EXAMPLE_CONNECTED_WORKER (object);

  switch (prop_id)
    {
    case PROP_FOO:
      g_free (self->foo);
      self->foo = g_value_dup_string (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
example_connected_worker_class_init (ExampleConnectedWorkerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  TwWorkerClass *worker_class = TW_WORKER_CLASS (klass);

  object_class->finalize = example_connected_worker_finalize;
  object_class->set_property = example_connected_worker_set_property;
  worker_class->setup = example_connected_worker_setup;
  worker_class->call = example_connected_worker_call;
  worker_class->teardown = example_connected_worker_teardown;

  g_object_class_install_property (object_class, PROP_FOO,
    g_param_spec_string ("foo", NULL, NULL, NULL,
                         G_PARAM_WRITABLE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));
}

static void
example_connected_worker_init (ExampleConnectedWorker *self)
{
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(TwTroupe) troupe = NULL;
  ExampleOptions options;
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto(GVariantDict) kwargs = G_VARIANT_DICT_INIT (NULL);

  /* Worker types cross to worker processes by GType name. */
  g_type_ensure (EXAMPLE_TYPE_CONNECTED_WORKER);
  tw_init ();
  options = example_parse_options (&argc, &argv);

  g_variant_dict_insert (&kwargs, "foo", "s", "bar");
  troupe = tw_troupe_new_for_worker (EXAMPLE_TYPE_CONNECTED_WORKER,
                                     g_variant_dict_end (&kwargs));
  example_configure (troupe, &options);

  for (gint64 i = 0; i < 10; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i)));

  example_print_results (futures);

  return EXIT_SUCCESS;
}
