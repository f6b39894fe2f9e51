/* test-worker.c
 *
 * Copyright 2026 The tiny-worker developers
 *
 * This library is free software; you can redistribute it and/or modify it
 * under the terms of the GNU Lesser General Public License as published by
 * the Free Software Foundation; either version 2.1 of the License, or (at
 * your option) any later version.
 *
 * This library is distributed in the hope that it will be useful, but
 * WITHOUT ANY WARRANTY; without even the implied warranty of MERCHANTABILITY
 * or FITNESS FOR A PARTICULAR PURPOSE. See the GNU Lesser General Public
 * License for more details.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "tw-test-util.h"

/* What a TestWorker does. */
typedef enum
{
  TEST_BEHAVIOUR_NORMAL,        /* input n (int64) -> "<prefix>:<n>" */
  TEST_BEHAVIOUR_SETUP_FAILS,   /* setup fails with TW_TEST_ERROR 11 */
  TEST_BEHAVIOUR_CALL_FAILS,    /* call fails with TW_TEST_ERROR 12 */
  TEST_BEHAVIOUR_RETURNS_NULL,  /* call returns NULL without an error */
  TEST_BEHAVIOUR_RETURNS_BOTH,  /* call returns a value and an error */
} TestBehaviour;

static GType
test_behaviour_get_type (void)
{
  static gsize type = 0;

  if (g_once_init_enter (&type))
    {
      static const GEnumValue values[] = {
        { TEST_BEHAVIOUR_NORMAL, "TEST_BEHAVIOUR_NORMAL", "normal" },
        { TEST_BEHAVIOUR_SETUP_FAILS, "TEST_BEHAVIOUR_SETUP_FAILS", "setup-fails" },
        { TEST_BEHAVIOUR_CALL_FAILS, "TEST_BEHAVIOUR_CALL_FAILS", "call-fails" },
        { TEST_BEHAVIOUR_RETURNS_NULL, "TEST_BEHAVIOUR_RETURNS_NULL", "returns-null" },
        { TEST_BEHAVIOUR_RETURNS_BOTH, "TEST_BEHAVIOUR_RETURNS_BOTH", "returns-both" },
        { 0, NULL, NULL },
      };

      g_once_init_leave (&type, g_enum_register_static ("TestBehaviour", values));
    }

  return type;
}

/* What every TestWorker did, across threads. Reset by each test. */
#define MAX_WORKERS 256

static struct
{
  GMutex    lock;
  gint      n_init;           /* atomic */
  gint      n_setup;          /* atomic */
  gint      n_call;           /* atomic */
  gint      n_teardown;       /* atomic */
  gint      n_finalize;       /* atomic */
  gint      n_wrong_thread;   /* atomic: a step ran off the worker's thread */
  gint      n_bad_teardowns;  /* atomic: finalized after 0 or 2+ teardowns of a set-up worker */
  gint      n_on_main_thread; /* atomic */
  GThread  *main_thread;
  guint     n_workers;        /* under lock */
  gpointer  workers[MAX_WORKERS]; /* weak pointers, under lock */
  GThread  *threads[MAX_WORKERS]; /* under lock */
} record;

static void
record_reset (void)
{
  g_mutex_lock (&record.lock);
  for (guint i = 0; i < record.n_workers; i++)
    g_assert_null (record.workers[i]);
  record.n_workers = 0;
  record.n_init = 0;
  record.n_setup = 0;
  record.n_call = 0;
  record.n_teardown = 0;
  record.n_finalize = 0;
  record.n_wrong_thread = 0;
  record.n_bad_teardowns = 0;
  record.n_on_main_thread = 0;
  record.main_thread = g_thread_self ();
  g_mutex_unlock (&record.lock);
}

/* The number of distinct threads that created workers. */
static guint
record_count_threads (void)
{
  guint n = 0;

  g_mutex_lock (&record.lock);
  for (guint i = 0; i < record.n_workers; i++)
    {
      gboolean seen = FALSE;

      for (guint j = 0; j < i; j++)
        seen |= record.threads[j] == record.threads[i];
      if (!seen)
        n++;
    }
  g_mutex_unlock (&record.lock);

  return n;
}

static void
record_assert_all_finalized (void)
{
  g_mutex_lock (&record.lock);
  for (guint i = 0; i < record.n_workers; i++)
    g_assert_null (record.workers[i]);
  g_mutex_unlock (&record.lock);
  g_assert_cmpint (g_atomic_int_get (&record.n_finalize), ==, g_atomic_int_get (&record.n_init));
}

#define TEST_TYPE_WORKER (test_worker_get_type ())
G_DECLARE_FINAL_TYPE (TestWorker, test_worker, TEST, WORKER, TwWorker)

struct _TestWorker
{
  TwWorker       parent_instance;

  char          *prefix;        /* construct property */
  TestBehaviour  behaviour;     /* construct property */
  gboolean       flag;          /* construct property, unused */
  guint          limit;         /* construct property, unused */

  GThread       *thread;        /* where it was created */
  char          *connection;    /* made in setup */
  gboolean       set_up;
  guint          n_teardowns;
};

enum {
  PROP_0,
  PROP_PREFIX,
  PROP_BEHAVIOUR,
  PROP_FLAG,
  PROP_LIMIT,
  N_PROPS
};

static GParamSpec *properties [N_PROPS];

G_DEFINE_FINAL_TYPE (TestWorker, test_worker, TW_TYPE_WORKER)

static void
check_thread (TestWorker *self)
{
  if (g_thread_self () != self->thread)
    g_atomic_int_inc (&record.n_wrong_thread);
}

static gboolean
test_worker_setup (TwWorker      *worker,
                   GCancellable  *cancellable,
                   GError       **error)
{
  TestWorker *self = TEST_WORKER (worker);

  g_atomic_int_inc (&record.n_setup);
  check_thread (self);

  if (self->behaviour == TEST_BEHAVIOUR_SETUP_FAILS)
    {
      g_set_error (error, TW_TEST_ERROR, 11, "Cannot connect to “%s”", self->prefix);
      return FALSE;
    }

  self->connection = g_strdup (self->prefix);
  self->set_up = TRUE;

  return TRUE;
}

static GVariant *
test_worker_call (TwWorker      *worker,
                  GVariant      *input,
                  GCancellable  *cancellable,
                  GError       **error)
{
  TestWorker *self = TEST_WORKER (worker);

  g_atomic_int_inc (&record.n_call);
  check_thread (self);

  /* setup ran first, on this very worker. */
  if (!self->set_up)
    g_atomic_int_inc (&record.n_wrong_thread);

  switch (self->behaviour)
    {
    case TEST_BEHAVIOUR_NORMAL:
      return g_variant_new_take_string (g_strdup_printf ("%s:%" G_GINT64_FORMAT,
                                                         self->connection,
                                                         g_variant_get_int64 (input)));

    case TEST_BEHAVIOUR_CALL_FAILS:
      g_set_error (error, TW_TEST_ERROR, 12, "Call %" G_GINT64_FORMAT " failed",
                   g_variant_get_int64 (input));
      return NULL;

    case TEST_BEHAVIOUR_RETURNS_NULL:
      return NULL;

    case TEST_BEHAVIOUR_RETURNS_BOTH:
      g_set_error_literal (error, TW_TEST_ERROR, 13, "and an error");
      return g_variant_new_string ("a value");

    case TEST_BEHAVIOUR_SETUP_FAILS:
    default:
      g_assert_not_reached ();
    }
}

static void
test_worker_teardown (TwWorker *worker)
{
  TestWorker *self = TEST_WORKER (worker);

  g_atomic_int_inc (&record.n_teardown);
  check_thread (self);
  self->n_teardowns++;
  g_clear_pointer (&self->connection, g_free);
}

static void
test_worker_finalize (GObject *object)
{
  TestWorker *self = TEST_WORKER (object);

  g_atomic_int_inc (&record.n_finalize);
  check_thread (self);
  if (self->set_up && self->n_teardowns != 1)
    g_atomic_int_inc (&record.n_bad_teardowns);
  if (!self->set_up && self->n_teardowns != 0)
    g_atomic_int_inc (&record.n_bad_teardowns);

  g_free (self->prefix);
  g_free (self->connection);

  G_OBJECT_CLASS (test_worker_parent_class)->finalize (object);
}

static void
test_worker_constructed (GObject *object)
{
  TestWorker *self = TEST_WORKER (object);

  G_OBJECT_CLASS (test_worker_parent_class)->constructed (object);

  g_mutex_lock (&record.lock);
  g_assert_cmpuint (record.n_workers, <, MAX_WORKERS);
  record.threads[record.n_workers] = self->thread;
  record.workers[record.n_workers] = self;
  g_object_add_weak_pointer (object, &record.workers[record.n_workers]);
  record.n_workers++;
  g_mutex_unlock (&record.lock);
}

static void
test_worker_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  TestWorker *self = TEST_WORKER (object);

  switch (prop_id)
    {
    case PROP_PREFIX:
      g_value_set_string (value, self->prefix);
      break;

    case PROP_BEHAVIOUR:
      g_value_set_enum (value, self->behaviour);
      break;

    case PROP_FLAG:
      g_value_set_boolean (value, self->flag);
      break;

    case PROP_LIMIT:
      g_value_set_uint (value, self->limit);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
test_worker_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  TestWorker *self = TEST_WORKER (object);

  switch (prop_id)
    {
    case PROP_PREFIX:
      g_free (self->prefix);
      self->prefix = g_value_dup_string (value);
      break;

    case PROP_BEHAVIOUR:
      self->behaviour = g_value_get_enum (value);
      break;

    case PROP_FLAG:
      self->flag = g_value_get_boolean (value);
      break;

    case PROP_LIMIT:
      self->limit = g_value_get_uint (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
test_worker_class_init (TestWorkerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  TwWorkerClass *worker_class = TW_WORKER_CLASS (klass);

  object_class->constructed = test_worker_constructed;
  object_class->finalize = test_worker_finalize;
  object_class->get_property = test_worker_get_property;
  object_class->set_property = test_worker_set_property;
  worker_class->setup = test_worker_setup;
  worker_class->call = test_worker_call;
  worker_class->teardown = test_worker_teardown;

  properties [PROP_PREFIX] =
    g_param_spec_string ("prefix", NULL, NULL, "none",
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS));
  properties [PROP_BEHAVIOUR] =
    g_param_spec_enum ("behaviour", NULL, NULL,
                       test_behaviour_get_type (), TEST_BEHAVIOUR_NORMAL,
                       (G_PARAM_READWRITE |
                        G_PARAM_CONSTRUCT_ONLY |
                        G_PARAM_STATIC_STRINGS));
  properties [PROP_FLAG] =
    g_param_spec_boolean ("flag", NULL, NULL, FALSE,
                          (G_PARAM_READWRITE |
                           G_PARAM_CONSTRUCT_ONLY |
                           G_PARAM_STATIC_STRINGS));
  properties [PROP_LIMIT] =
    g_param_spec_uint ("limit", NULL, NULL, 0, 100, 0,
                       (G_PARAM_READWRITE |
                        G_PARAM_CONSTRUCT_ONLY |
                        G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
test_worker_init (TestWorker *self)
{
  self->thread = g_thread_self ();
  g_atomic_int_inc (&record.n_init);
  if (self->thread == record.main_thread)
    g_atomic_int_inc (&record.n_on_main_thread);
}

/* A worker that forgot to implement call. */
#define TEST_TYPE_LAZY_WORKER (test_lazy_worker_get_type ())
G_DECLARE_FINAL_TYPE (TestLazyWorker, test_lazy_worker, TEST, LAZY_WORKER, TwWorker)

struct _TestLazyWorker
{
  TwWorker parent_instance;
};

G_DEFINE_FINAL_TYPE (TestLazyWorker, test_lazy_worker, TW_TYPE_WORKER)

static void
test_lazy_worker_class_init (TestLazyWorkerClass *klass)
{
}

static void
test_lazy_worker_init (TestLazyWorker *self)
{
}

/* Helpers ------------------------------------------------------------------- */

static TwTroupe *
new_worker_troupe (guint         n_workers,
                   const char   *first_property,
                   ...) G_GNUC_NULL_TERMINATED;

/* Properties come as name, GVariant pairs, NULL-terminated. */
static TwTroupe *
new_worker_troupe (guint       n_workers,
                   const char *first_property,
                   ...)
{
  GVariantDict dict;
  TwTroupe *troupe;
  const char *name;
  va_list args;

  g_variant_dict_init (&dict, NULL);
  va_start (args, first_property);
  for (name = first_property; name != NULL; name = va_arg (args, const char *))
    g_variant_dict_insert_value (&dict, name, va_arg (args, GVariant *));
  va_end (args);

  troupe = tw_troupe_new_for_worker (TEST_TYPE_WORKER, g_variant_dict_end (&dict));
  g_assert_nonnull (troupe);
  tw_troupe_set_n_workers (troupe, n_workers);

  return troupe;
}

static void
assert_every_task_fails (TwTroupe   *troupe,
                         guint       n_tasks,
                         GQuark      domain,
                         gint        code,
                         const char *message)
{
  for (guint i = 0; i < n_tasks; i++)
    {
      g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new_int64 (i));
      g_autoptr(GError) error = tw_test_wait_error (future);

      g_assert_error (error, domain, code);
      if (message != NULL)
        g_assert_cmpstr (error->message, ==, message);
      g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_FAILED);
    }
}

/* Tests --------------------------------------------------------------------- */

static void
test_worker_construct_property (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);

  record_reset ();
  troupe = new_worker_troupe (4, "prefix", g_variant_new_string ("bar"), NULL);

  for (gint64 i = 0; i < 10; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i)));

  for (guint i = 0; i < futures->len; i++)
    {
      g_autoptr(GVariant) value = tw_test_wait_value (futures->pdata[i]);
      g_autofree char *expected = g_strdup_printf ("bar:%u", i);

      g_assert_cmpstr (g_variant_get_string (value, NULL), ==, expected);
    }

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpint (g_atomic_int_get (&record.n_call), ==, 10);
  g_assert_cmpint (g_atomic_int_get (&record.n_wrong_thread), ==, 0);
  record_assert_all_finalized ();
}

static void
test_worker_property_conversions (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GVariant) value = NULL;

  record_reset ();

  /* An enum by nick, and numbers of another width that fit. */
  troupe = new_worker_troupe (1,
                              "prefix", g_variant_new_string ("nick"),
                              "behaviour", g_variant_new_string ("normal"),
                              "flag", g_variant_new_boolean (TRUE),
                              "limit", g_variant_new_int64 (42),
                              NULL);
  future = tw_troupe_submit (troupe, g_variant_new_int64 (1));
  value = tw_test_wait_value (future);
  g_assert_cmpstr (g_variant_get_string (value, NULL), ==, "nick:1");
  g_clear_object (&future);
  g_clear_pointer (&value, g_variant_unref);
  g_clear_object (&troupe);

  /* The enum nick selects the behaviour. */
  troupe = new_worker_troupe (1, "behaviour", g_variant_new_string ("call-fails"), NULL);
  assert_every_task_fails (troupe, 2, TW_TEST_ERROR, 12, NULL);
  g_clear_object (&troupe);

  record_assert_all_finalized ();
}

static void
test_worker_lifecycle (void)
{
  const guint n_workers = 3;
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  TwTroupe *troupe;

  g_test_summary ("One worker per thread, created, set up, called, torn down and "
                  "finalized in that thread; teardown exactly once per worker");

  record_reset ();
  troupe = new_worker_troupe (n_workers, "prefix", g_variant_new_string ("life"), NULL);
  g_object_add_weak_pointer (G_OBJECT (troupe), (gpointer *)&troupe);

  /* No worker exists before the first submit. */
  g_assert_cmpint (g_atomic_int_get (&record.n_init), ==, 0);

  for (gint64 i = 0; i < 60; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i)));
  for (guint i = 0; i < futures->len; i++)
    {
      g_autoptr(GVariant) value = tw_test_wait_value (futures->pdata[i]);
      g_autofree char *expected = g_strdup_printf ("life:%u", i);

      g_assert_cmpstr (g_variant_get_string (value, NULL), ==, expected);
    }

  /* Teardown waits for the shutdown. */
  g_assert_cmpint (g_atomic_int_get (&record.n_teardown), ==, 0);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);

  g_assert_cmpint (g_atomic_int_get (&record.n_init), ==, n_workers);
  g_assert_cmpint (g_atomic_int_get (&record.n_setup), ==, n_workers);
  g_assert_cmpint (g_atomic_int_get (&record.n_call), ==, 60);
  g_assert_cmpint (g_atomic_int_get (&record.n_teardown), ==, n_workers);
  g_assert_cmpint (g_atomic_int_get (&record.n_finalize), ==, n_workers);
  g_assert_cmpint (g_atomic_int_get (&record.n_bad_teardowns), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&record.n_wrong_thread), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&record.n_on_main_thread), ==, 0);
  g_assert_cmpuint (record_count_threads (), ==, n_workers);
  record_assert_all_finalized ();

  /* A second shutdown tears down nothing more. */
  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpint (g_atomic_int_get (&record.n_teardown), ==, n_workers);

  g_object_unref (troupe);
  g_assert_null (troupe);
}

static void
test_worker_dispose_drains (void)
{
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  TwTroupe *troupe;

  record_reset ();
  troupe = new_worker_troupe (2, "prefix", g_variant_new_string ("d"), NULL);
  g_object_add_weak_pointer (G_OBJECT (troupe), (gpointer *)&troupe);

  for (gint64 i = 0; i < 100; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i)));

  g_object_unref (troupe);
  g_assert_null (troupe);

  for (guint i = 0; i < futures->len; i++)
    {
      g_autoptr(GVariant) value = NULL;
      g_autofree char *expected = g_strdup_printf ("d:%u", i);

      g_assert_true (tw_future_is_done (futures->pdata[i]));
      value = tw_test_wait_value (futures->pdata[i]);
      g_assert_cmpstr (g_variant_get_string (value, NULL), ==, expected);
    }

  g_assert_cmpint (g_atomic_int_get (&record.n_teardown), ==, 2);
  g_assert_cmpint (g_atomic_int_get (&record.n_bad_teardowns), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&record.n_wrong_thread), ==, 0);
  record_assert_all_finalized ();
}

static void
test_worker_setup_failure (void)
{
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);

  g_test_summary ("A worker whose setup fails fails its tasks with the setup error, "
                  "unchanged, and nothing hangs");

  record_reset ();
  troupe = new_worker_troupe (2,
                              "prefix", g_variant_new_string ("db.example"),
                              "behaviour", g_variant_new_string ("setup-fails"),
                              NULL);

  for (gint64 i = 0; i < 20; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i)));

  for (guint i = 0; i < futures->len; i++)
    {
      g_autoptr(GError) error = tw_test_wait_error (futures->pdata[i]);

      g_assert_error (error, TW_TEST_ERROR, 11);
      g_assert_cmpstr (error->message, ==, "Cannot connect to “db.example”");
      g_assert_cmpint (tw_future_get_state (futures->pdata[i]), ==, TW_FUTURE_STATE_FAILED);
    }

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);

  g_assert_cmpint (g_atomic_int_get (&record.n_call), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&record.n_teardown), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&record.n_bad_teardowns), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&record.n_wrong_thread), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&record.n_on_main_thread), ==, 0);
  g_assert_cmpuint (tw_troupe_get_n_failed (troupe), ==, 20);
  g_assert_cmpuint (tw_troupe_get_n_completed (troupe), ==, 20);
  record_assert_all_finalized ();
}

static void
test_worker_bad_properties (void)
{
  struct {
    const char *name;
    GVariant   *value;
  } cases[] = {
    { "no-such-property", g_variant_new_int32 (1) },
    { "prefix", g_variant_new_int32 (42) },
    { "behaviour", g_variant_new_string ("no-such-nick") },
    { "flag", g_variant_new_string ("yes") },
    { "limit", g_variant_new_int64 (-1) },
    { "limit", g_variant_new_uint32 (1000) },
  };

  g_test_summary ("An unknown property, or a value that does not fit, fails every "
                  "task with TW_ERROR_WORKER_SETUP");

  record_reset ();

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(TwTroupe) troupe = NULL;
      g_autoptr(TwFuture) chained = NULL;
      g_autoptr(TwFuture) input = tw_future_new_for_value (g_variant_new_int64 (0));
      g_autoptr(GError) error = NULL;

      g_test_message ("property %s", cases[i].name);
      troupe = new_worker_troupe (2, cases[i].name, cases[i].value, NULL);
      assert_every_task_fails (troupe, 3, TW_ERROR, TW_ERROR_WORKER_SETUP, NULL);

      chained = tw_troupe_submit_future (troupe, input);
      error = tw_test_wait_error (chained);
      g_assert_error (error, TW_ERROR, TW_ERROR_WORKER_SETUP);

      tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
    }

  g_assert_cmpint (g_atomic_int_get (&record.n_call), ==, 0);
  record_assert_all_finalized ();
}

static void
test_worker_bad_types (void)
{
  g_autoptr(TwTroupe) abstract = NULL;
  g_autoptr(TwTroupe) lazy = NULL;
  g_autoptr(GVariant) not_a_dict = g_variant_ref_sink (g_variant_new_int32 (1));
  TwTroupe *not_a_worker;

  /* TwWorker itself cannot be instantiated. */
  abstract = tw_troupe_new_for_worker (TW_TYPE_WORKER, NULL);
  g_assert_nonnull (abstract);
  assert_every_task_fails (abstract, 3, TW_ERROR, TW_ERROR_WORKER_SETUP, NULL);
  tw_troupe_shutdown (abstract, TW_SHUTDOWN_MODE_DRAIN);

  /* A type that is not a TwWorker is a programmer error. */
  g_test_expect_message ("Tw", G_LOG_LEVEL_CRITICAL, "*TW_TYPE_WORKER*");
  not_a_worker = tw_troupe_new_for_worker (G_TYPE_OBJECT, NULL);
  g_test_assert_expected_messages ();
  g_assert_null (not_a_worker);

  /* So are properties that are not a dictionary. */
  g_test_expect_message ("Tw", G_LOG_LEVEL_CRITICAL, "*VARDICT*");
  not_a_worker = tw_troupe_new_for_worker (TEST_TYPE_WORKER, not_a_dict);
  g_test_assert_expected_messages ();
  g_assert_null (not_a_worker);

  /* A worker without a call fails its tasks with INVALID_RESULT. */
  lazy = tw_troupe_new_for_worker (TEST_TYPE_LAZY_WORKER, NULL);
  tw_troupe_set_n_workers (lazy, 1);
  assert_every_task_fails (lazy, 2, TW_ERROR, TW_ERROR_INVALID_RESULT, NULL);
  tw_troupe_shutdown (lazy, TW_SHUTDOWN_MODE_DRAIN);
}

static void
test_worker_error_unchanged (void)
{
  g_autoptr(TwTroupe) troupe = NULL;

  record_reset ();
  troupe = new_worker_troupe (2, "behaviour", g_variant_new_int32 (TEST_BEHAVIOUR_CALL_FAILS),
                              NULL);

  for (gint64 i = 0; i < 5; i++)
    {
      g_autoptr(TwFuture) future = tw_troupe_submit (troupe, g_variant_new_int64 (i));
      g_autoptr(GError) error = tw_test_wait_error (future);
      g_autofree char *expected = g_strdup_printf ("Call %" G_GINT64_FORMAT " failed", i);

      g_assert_error (error, TW_TEST_ERROR, 12);
      g_assert_cmpstr (error->message, ==, expected);
    }

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpint (g_atomic_int_get (&record.n_call), ==, 5);
  record_assert_all_finalized ();
}

static void
test_worker_invalid_result (void)
{
  g_autoptr(TwTroupe) null_troupe = NULL;
  g_autoptr(TwTroupe) both_troupe = NULL;

  g_test_summary ("A worker that returns NULL without an error, or a value with an "
                  "error, fails its task with TW_ERROR_INVALID_RESULT");

  record_reset ();
  null_troupe = new_worker_troupe (1, "behaviour", g_variant_new_string ("returns-null"), NULL);
  assert_every_task_fails (null_troupe, 3, TW_ERROR, TW_ERROR_INVALID_RESULT, NULL);

  both_troupe = new_worker_troupe (1, "behaviour", g_variant_new_string ("returns-both"), NULL);
  assert_every_task_fails (both_troupe, 3, TW_ERROR, TW_ERROR_INVALID_RESULT, NULL);

  tw_troupe_shutdown (null_troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (both_troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpint (g_atomic_int_get (&record.n_call), ==, 6);
  record_assert_all_finalized ();
}

static void
test_worker_direct_call (void)
{
  g_autoptr(TestWorker) worker = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) five = g_variant_ref_sink (g_variant_new_int64 (5));
  gboolean ok;

  g_test_summary ("The public wrappers check the vfuncs' contract when a worker is "
                  "used without a troupe");

  record_reset ();
  worker = g_object_new (TEST_TYPE_WORKER, "prefix", "direct", NULL);
  ok = tw_worker_setup (TW_WORKER (worker), NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ok);

  value = tw_worker_call (TW_WORKER (worker), five, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (value, NULL), ==, "direct:5");

  worker->behaviour = TEST_BEHAVIOUR_RETURNS_NULL;
  g_clear_pointer (&value, g_variant_unref);
  value = tw_worker_call (TW_WORKER (worker), five, NULL, &error);
  g_assert_null (value);
  g_assert_error (error, TW_ERROR, TW_ERROR_INVALID_RESULT);
  g_clear_error (&error);

  tw_worker_teardown (TW_WORKER (worker));
  g_clear_object (&worker);

  /* A failing setup reports its own error. */
  worker = g_object_new (TEST_TYPE_WORKER, "behaviour", TEST_BEHAVIOUR_SETUP_FAILS, NULL);
  ok = tw_worker_setup (TW_WORKER (worker), NULL, &error);
  g_assert_false (ok);
  g_assert_error (error, TW_TEST_ERROR, 11);
  g_clear_object (&worker);

  record_assert_all_finalized ();
}

static void
run_worker_troupe_and_count (guint       baseline,
                             const char *behaviour,
                             gboolean    dispose_only)
{
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  TwTroupe *troupe;

  troupe = new_worker_troupe (3, "behaviour", g_variant_new_string (behaviour), NULL);
  for (gint64 i = 0; i < 30; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i)));
  g_assert_cmpuint (tw_test_count_threads (), ==, baseline + 3);

  if (!dispose_only)
    tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_object_unref (troupe);

  g_assert_cmpuint (tw_test_wait_for_n_threads (baseline), ==, baseline);
  for (guint i = 0; i < futures->len; i++)
    g_assert_true (tw_future_is_done (futures->pdata[i]));
  record_assert_all_finalized ();
}

static void
test_worker_no_leaked_threads (void)
{
  guint baseline;

  if (!g_test_subprocess ())
    {
      /* A fresh process, so other tests' threads cannot skew the count. */
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }

  record_reset ();
  baseline = tw_test_count_threads ();

  run_worker_troupe_and_count (baseline, "normal", FALSE);
  run_worker_troupe_and_count (baseline, "normal", TRUE);
  run_worker_troupe_and_count (baseline, "setup-fails", FALSE);
  run_worker_troupe_and_count (baseline, "setup-fails", TRUE);
  run_worker_troupe_and_count (baseline, "call-fails", FALSE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_mutex_init (&record.lock);
  g_type_ensure (TEST_TYPE_WORKER);

  g_test_add_func ("/worker/construct-properties-reach-each-worker",
                   test_worker_construct_property);
  g_test_add_func ("/worker/properties-convert-enum-nicks-and-widths",
                   test_worker_property_conversions);
  g_test_add_func ("/worker/one-per-thread-set-up-called-torn-down-there", test_worker_lifecycle);
  g_test_add_func ("/worker/last-unref-drains-and-tears-down", test_worker_dispose_drains);
  g_test_add_func ("/worker/setup-error-fails-its-tasks-unchanged", test_worker_setup_failure);
  g_test_add_func ("/worker/bad-properties-fail-every-task", test_worker_bad_properties);
  g_test_add_func ("/worker/bad-types-are-refused", test_worker_bad_types);
  g_test_add_func ("/worker/call-error-reaches-the-future-unchanged", test_worker_error_unchanged);
  g_test_add_func ("/worker/invalid-result-fails-the-task", test_worker_invalid_result);
  g_test_add_func ("/worker/direct-call-checks-the-vfunc-contract", test_worker_direct_call);
  g_test_add_func ("/worker/no-thread-outlives-shutdown", test_worker_no_leaked_threads);

  return g_test_run ();
}
