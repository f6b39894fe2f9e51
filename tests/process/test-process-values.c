/* test-process-values.c: values and errors that cross to worker processes
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

/*
 * Part of the process-mode test suite (issue #4). Like every program of
 * it, this one is a worker program too: a troupe with no
 * TwTroupe:worker-argv runs it again, and main() must reach tw_init()
 * with the functions and types of tw-test-funcs.h registered before
 * g_test_init() sees the arguments. The tests that take a
 * TwTestWorkerKind run once that way (…/re-executed) and once with
 * tw-test-worker in TwTroupe:worker-argv (…/worker-argv).
 *
 * Tests that show a library bug report it with g_test_fail_printf() and
 * go on, so that one bug does not hide the others (meson runs this with
 * --keep-going).
 */

#include "config.h"

#include <tiny-worker.h>

#include "tw-test-funcs.h"
#include "tw-test-process.h"

/* Values ------------------------------------------------------------------- */

/* tw_troupe_submit() sinks a floating input and takes a reference of its
 * own on any other: the tests pass the values they keep as they are. */

static GVariant *
make_bytes (gsize size)
{
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8)((i * 13 + i / 1021) & 0xff);

  return g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size, TRUE, g_free, data);
}

static GPtrArray *
make_values (void)
{
  GPtrArray *values = g_ptr_array_new_with_free_func ((GDestroyNotify)g_variant_unref);
  g_autoptr(GVariantBuilder) dict = g_variant_builder_new (G_VARIANT_TYPE_VARDICT);
  const char *strv[] = { "a", "", "ünïcödé ✓", "with\nnewline", NULL };

  g_variant_builder_add (dict, "{sv}", "answer", g_variant_new_int32 (42));
  g_variant_builder_add (dict, "{sv}", "name", g_variant_new_string ("tiny"));
  g_variant_builder_add (dict, "{sv}", "nested",
                         g_variant_new_variant (g_variant_new ("(bd)", TRUE, -0.25)));

  /* Scalars. */
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_boolean (TRUE)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_byte (0xfe)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_int16 (-12345)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_int32 (G_MININT32 + 7)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_int64 (G_MININT64 + 3)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_uint64 (G_MAXUINT64 - 5)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_double (3.14159265358979)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_double (-0.0)));

  /* Strings. */
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_string ("")));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_string ("ünïcödé ✓ \u2603")));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_object_path ("/org/example/Tw")));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_signature ("a{sv}")));

  /* Containers. */
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_strv (strv, -1)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_builder_end (dict)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new ("(ixsmsmi)", -1,
                                                               G_GINT64_CONSTANT (1) << 40,
                                                               "tuple", NULL, TRUE, 5)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new ("()")));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_variant (
                             g_variant_new_variant (g_variant_new_int32 (1)))));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("(sa{sv})"),
                                                                     NULL, 0)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_parsed ("[[1, 2], [], [3]]")));

  /* Bytes. */
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_bytestring ("")));
  g_ptr_array_add (values, g_variant_ref_sink (make_bytes (1024 * 1024)));

  return values;
}

static void
test_process_values (gconstpointer data)
{
  TwTestWorkerKind kind = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = tw_test_process_troupe_new ("echo", kind, 2);
  g_autoptr(GPtrArray) values = make_values ();
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);

  g_test_summary ("Scalars, strings, containers and byte arrays cross to a worker "
                  "process and back unchanged");

  for (guint i = 0; i < values->len; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, values->pdata[i]));

  for (guint i = 0; i < values->len; i++)
    {
      g_autoptr(GVariant) value = tw_test_wait_value (futures->pdata[i]);

      g_assert_cmpstr (g_variant_get_type_string (value), ==,
                       g_variant_get_type_string (values->pdata[i]));
      g_assert_true (g_variant_equal (value, values->pdata[i]));
    }

  tw_test_shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

#define BIG_SIZE (10 * 1024 * 1024)

static void
test_process_big_values (gconstpointer data)
{
  TwTestWorkerKind kind = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) echo = tw_test_process_troupe_new ("echo", kind, 2);
  g_autoptr(TwTroupe) big = tw_test_process_troupe_new ("big", kind, 1);
  g_autoptr(GVariant) input = g_variant_ref_sink (make_bytes (BIG_SIZE));
  g_autoptr(TwFuture) echoed = NULL;
  g_autoptr(TwFuture) made = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GVariant) big_value = NULL;
  g_autoptr(GPtrArray) inputs = g_ptr_array_new_with_free_func ((GDestroyNotify)g_variant_unref);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  const guint8 *bytes;
  gsize size;

  g_test_summary ("A 10 MiB byte array goes to a worker process and comes back, "
                  "and a worker process makes one from a small input");

  echoed = tw_troupe_submit (echo, input);
  made = tw_troupe_submit (big, g_variant_new_uint64 (BIG_SIZE));

  /* Many large values at once, several in flight to each worker. */
  for (guint i = 0; i < 16; i++)
    {
      g_autoptr(GVariant) mib = g_variant_ref_sink (make_bytes (1024 * 1024 + i));

      g_ptr_array_add (inputs, g_variant_ref (mib));
      g_ptr_array_add (futures, tw_troupe_submit (echo, mib));
    }
  for (guint i = 0; i < 16; i++)
    {
      g_autoptr(GVariant) mib = tw_test_wait_value (futures->pdata[i]);

      g_assert_true (g_variant_equal (mib, inputs->pdata[i]));
    }

  value = tw_test_wait_value (echoed);
  g_assert_cmpuint (g_variant_get_size (value), ==, BIG_SIZE);
  g_assert_true (g_variant_equal (value, input));

  big_value = tw_test_wait_value (made);
  g_assert_cmpstr (g_variant_get_type_string (big_value), ==, "ay");
  bytes = g_variant_get_fixed_array (big_value, &size, 1);
  g_assert_cmpuint (size, ==, BIG_SIZE);
  for (gsize i = 0; i < size; i++)
    {
      if (bytes[i] != tw_test_big_byte (i))
        g_error ("Byte %" G_GSIZE_FORMAT " of the big value is %u, not %u",
                 i, bytes[i], tw_test_big_byte (i));
    }

  tw_troupe_shutdown (echo, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_shutdown_and_check (big, TW_SHUTDOWN_MODE_DRAIN);
}

#define N_MANY_TASKS 20000

static void
test_process_many_tasks (void)
{
  g_autoptr(TwTroupe) troupe = tw_test_process_troupe_new ("square", TW_TEST_WORKER_SELF, 2);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);

  g_test_summary ("20 000 tasks on two worker processes, every result checked");

  for (gint64 i = 0; i < N_MANY_TASKS; i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_int64 (i - 10000)));

  for (gint64 i = 0; i < N_MANY_TASKS; i++)
    g_assert_cmpint (tw_test_wait_int64 (futures->pdata[i]), ==, (i - 10000) * (i - 10000));

  /* A future settles before the troupe counts it: read the counters once
   * the troupe has stopped. */
  tw_test_shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpuint (tw_troupe_get_n_succeeded (troupe), ==, N_MANY_TASKS);
  g_assert_cmpuint (tw_troupe_get_n_failed (troupe), ==, 0);
}

/* Errors ------------------------------------------------------------------- */

static void
test_process_errors (gconstpointer data)
{
  static const struct {
    const char *domain;
    gint32      code;
    const char *message;
  } errors[] = {
    { TW_TEST_PROCESS_ERROR_DOMAIN, 42, "The test failed this task on purpose: ünïcödé ✓" },
    { "g-io-error-quark", G_IO_ERROR_NOT_FOUND, "No such thing" },
    { "tw-test-never-registered-in-the-parent-quark", -17, "negative codes work too" },
    { "tw-test-process-error-quark", 0, "" },
  };
  TwTestWorkerKind kind = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = tw_test_process_troupe_new ("fail", kind, 2);
  g_autoptr(TwTroupe) handles = tw_test_process_troupe_new ("make-handle", kind, 1);
  g_autoptr(TwFuture) handle_future = NULL;
  g_autoptr(GError) handle_error = NULL;

  g_test_summary ("A worker's error crosses the process boundary with its domain "
                  "(by quark name), code and message unchanged");

  for (guint i = 0; i < G_N_ELEMENTS (errors); i++)
    {
      g_autoptr(TwFuture) future = NULL;
      g_autoptr(GError) error = NULL;

      future = tw_troupe_submit (troupe, g_variant_new ("(sis)", errors[i].domain,
                                                        errors[i].code, errors[i].message));
      error = tw_test_wait_error (future);
      g_assert_cmpstr (g_quark_to_string (error->domain), ==, errors[i].domain);
      g_assert_cmpint (error->code, ==, errors[i].code);
      g_assert_cmpstr (error->message, ==, errors[i].message);
      g_assert_cmpint (tw_future_get_state (future), ==, TW_FUTURE_STATE_FAILED);
    }

  {
    g_autoptr(TwFuture) future = NULL;
    g_autoptr(GError) error = NULL;

    /* The quark is the same one the parent uses. */
    future = tw_troupe_submit (troupe, g_variant_new ("(sis)", TW_TEST_PROCESS_ERROR_DOMAIN,
                                                      3, "three"));
    error = tw_test_wait_error (future);
    g_assert_error (error, TW_TEST_PROCESS_ERROR, 3);
  }

  /* A worker's output that cannot cross fails its task, in the worker. */
  handle_future = tw_troupe_submit (handles, g_variant_new ("()"));
  handle_error = tw_test_wait_error (handle_future);
  g_assert_error (handle_error, TW_ERROR, TW_ERROR_UNSERIALIZABLE);

  tw_troupe_shutdown (troupe, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_shutdown_and_check (handles, TW_SHUTDOWN_MODE_DRAIN);
}

static void
test_process_non_normal_input (gconstpointer data)
{
  TwTestWorkerKind kind = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = tw_test_process_troupe_new ("echo", kind, 1);
  g_autoptr(GVariant) input = g_variant_ref_sink (tw_test_new_non_normal_value ());
  g_autoptr(GVariant) expected = g_variant_ref_sink (g_variant_new ("(yi)", 1, 5));
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;

  g_test_summary ("A valid input that is not in normal form (as built from untrusted "
                  "bytes) crosses to a worker process like any other value");

  g_assert_false (g_variant_is_normal_form (input));
  g_assert_true (g_variant_equal (input, expected));

  future = tw_troupe_submit (troupe, input);
  value = tw_future_wait (future, TW_TEST_TIMEOUT_USEC, &error);
  if (value == NULL)
    g_test_fail_printf ("The task failed: %s (%s, %d)", error->message,
                        g_quark_to_string (error->domain), error->code);
  else
    g_assert_true (g_variant_equal (value, expected));

  /* The troupe keeps working. */
  {
    g_autoptr(TwFuture) next = tw_troupe_submit (troupe, g_variant_new_int32 (3));
    g_autoptr(GVariant) next_value = tw_test_wait_value (next);

    g_assert_cmpint (g_variant_get_int32 (next_value), ==, 3);
  }

  tw_test_shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

static void
test_process_non_normal_output (gconstpointer data)
{
  TwTestWorkerKind kind = GPOINTER_TO_INT (data);
  g_autoptr(TwTroupe) troupe = tw_test_process_troupe_new ("non-normal", kind, 1);
  g_autoptr(GVariant) expected = g_variant_ref_sink (g_variant_new ("(yi)", 1, 5));
  g_autoptr(TwFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;

  g_test_summary ("A worker's output that is valid but not in normal form comes back "
                  "like any other value");

  future = tw_troupe_submit (troupe, g_variant_new ("()"));
  value = tw_future_wait (future, TW_TEST_TIMEOUT_USEC, &error);
  if (value == NULL)
    g_test_fail_printf ("The task failed: %s (%s, %d)", error->message,
                        g_quark_to_string (error->domain), error->code);
  else
    g_assert_true (g_variant_equal (value, expected));

  tw_test_shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
}

/* Unserializable values ---------------------------------------------------- */

static void
test_process_unserializable (void)
{
  g_autoptr(TwTroupe) troupe = tw_test_process_troupe_new ("echo", TW_TEST_WORKER_SELF, 1);
  g_autoptr(TwTroupe) threads = tw_troupe_new_for_func (tw_test_echo_func, NULL, NULL);
  g_autoptr(GVariantBuilder) dict = g_variant_builder_new (G_VARIANT_TYPE_VARDICT);
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify)g_variant_unref);
  g_autoptr(TwFuture) from_thread = NULL;
  g_autoptr(TwFuture) chained = NULL;
  g_autoptr(TwFuture) ok = NULL;
  g_autoptr(GError) chained_error = NULL;
  g_autoptr(GVariant) ok_value = NULL;
  GVariant *in_array;

  g_test_summary ("A value holding a file descriptor handle is refused at submit "
                  "with TW_ERROR_UNSERIALIZABLE, even when hidden in a variant");

  in_array = g_variant_new_variant (g_variant_new ("(bv)", TRUE, g_variant_new_handle (2)));

  g_variant_builder_add (dict, "{sv}", "ok", g_variant_new_int32 (1));
  g_variant_builder_add (dict, "{sv}", "deep",
                         g_variant_new_variant (g_variant_new ("(sv)", "x",
                                                               g_variant_new_handle (3))));

  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_handle (0)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new ("(ih)", 1, 2)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_variant (g_variant_new_handle (1))));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_VARIANT,
                                                                     &in_array, 1)));
  g_ptr_array_add (values, g_variant_ref_sink (g_variant_builder_end (dict)));

  for (guint i = 0; i < values->len; i++)
    {
      g_autoptr(TwFuture) future = tw_troupe_submit (troupe, values->pdata[i]);
      g_autoptr(GError) error = NULL;

      /* Refused at submit: failed before any wait. */
      g_assert_true (tw_future_is_done (future));
      error = tw_test_wait_error (future);
      g_assert_error (error, TW_ERROR, TW_ERROR_UNSERIALIZABLE);
    }

  /* A chained input is checked when it arrives. */
  from_thread = tw_troupe_submit (threads, values->pdata[2]);
  chained = tw_troupe_submit_future (troupe, from_thread);
  chained_error = tw_test_wait_error (chained);
  g_assert_error (chained_error, TW_ERROR, TW_ERROR_UNSERIALIZABLE);

  /* Nothing reached the worker, which still works. */
  ok = tw_troupe_submit (troupe, g_variant_new ("v", g_variant_new_int32 (5)));
  ok_value = tw_test_wait_value (ok);
  g_assert_cmpstr (g_variant_get_type_string (ok_value), ==, "v");
  {
    g_autoptr(GVariant) inner = g_variant_get_variant (ok_value);

    g_assert_cmpint (g_variant_get_int32 (inner), ==, 5);
  }

  tw_troupe_shutdown (threads, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_shutdown_and_check (troupe, TW_SHUTDOWN_MODE_DRAIN);
  g_assert_cmpuint (tw_troupe_get_n_succeeded (troupe), ==, 1);
}

/* Chaining ----------------------------------------------------------------- */

static GVariant *
halve_func (GVariant      *input,
            GCancellable  *cancellable,
            gpointer       user_data,
            GError       **error)
{
  return g_variant_new_double (g_variant_get_int64 (input) / 2.0);
}

static void
test_process_chain (void)
{
  g_autoptr(TwTroupe) process_square = NULL;
  g_autoptr(TwTroupe) program_square = NULL;
  g_autoptr(TwTroupe) process_fail = tw_test_process_troupe_new ("fail", TW_TEST_WORKER_PROGRAM, 1);
  g_autoptr(TwTroupe) thread_square = tw_troupe_new_for_func (tw_test_square_func, NULL, NULL);
  g_autoptr(TwTroupe) thread_halve = tw_troupe_new_for_func (halve_func, NULL, NULL);
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(TwFuture) failed = NULL;
  g_autoptr(TwFuture) failed_squared = NULL;
  g_autoptr(TwFuture) failed_halved = NULL;
  g_autoptr(GError) failed_error = NULL;

  g_test_summary ("Lazy chaining works process to thread, thread to process and "
                  "process to process, and passes errors along");

  process_square = tw_test_process_troupe_new ("square", TW_TEST_WORKER_SELF, 2);
  program_square = tw_test_process_troupe_new ("square", TW_TEST_WORKER_PROGRAM, 2);
  tw_troupe_set_n_workers (thread_square, 2);
  tw_troupe_set_n_workers (thread_halve, 2);

  for (gint64 i = 0; i < 10; i++)
    {
      TwFuture *in_process = tw_troupe_submit (process_square, g_variant_new_int64 (i));
      TwFuture *in_thread = tw_troupe_submit (thread_square, g_variant_new_int64 (i));
      TwFuture *process_thread = tw_troupe_submit_future (thread_halve, in_process);
      TwFuture *thread_process = tw_troupe_submit_future (process_square, in_thread);
      TwFuture *process_program = tw_troupe_submit_future (program_square, in_process);
      TwFuture *three_deep = tw_troupe_submit_future (process_square, process_program);

      /* The array keeps them all: index 6 * i + k is the k-th above. */
      g_ptr_array_add (all, in_process);
      g_ptr_array_add (all, in_thread);
      g_ptr_array_add (all, process_thread);
      g_ptr_array_add (all, thread_process);
      g_ptr_array_add (all, process_program);
      g_ptr_array_add (all, three_deep);
    }

  for (gint64 i = 0; i < 10; i++)
    {
      g_autoptr(GVariant) half = tw_test_wait_value (all->pdata[6 * i + 2]);

      g_assert_cmpint (tw_test_wait_int64 (all->pdata[6 * i + 0]), ==, i * i);
      g_assert_cmpint (tw_test_wait_int64 (all->pdata[6 * i + 1]), ==, i * i);
      g_assert_cmpfloat (g_variant_get_double (half), ==, i * i / 2.0);
      g_assert_cmpint (tw_test_wait_int64 (all->pdata[6 * i + 3]), ==, i * i * i * i);
      g_assert_cmpint (tw_test_wait_int64 (all->pdata[6 * i + 4]), ==, i * i * i * i);
      g_assert_cmpint (tw_test_wait_int64 (all->pdata[6 * i + 5]), ==,
                       i * i * i * i * i * i * i * i);
    }

  /* A worker's error in a process passes unchanged through the chain. */
  failed = tw_troupe_submit (process_fail, g_variant_new ("(sis)", TW_TEST_PROCESS_ERROR_DOMAIN,
                                                          5, "five"));
  failed_squared = tw_troupe_submit_future (process_square, failed);
  failed_halved = tw_troupe_submit_future (thread_halve, failed_squared);
  failed_error = tw_test_wait_error (failed_halved);
  g_assert_error (failed_error, TW_TEST_PROCESS_ERROR, 5);
  g_assert_cmpstr (failed_error->message, ==, "five");

  tw_troupe_shutdown (thread_square, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (thread_halve, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (process_square, TW_SHUTDOWN_MODE_DRAIN);
  tw_troupe_shutdown (program_square, TW_SHUTDOWN_MODE_DRAIN);
  tw_test_shutdown_and_check (process_fail, TW_SHUTDOWN_MODE_DRAIN);
}

int
main (int   argc,
      char *argv[])
{
  tw_test_process_serve ();
  tw_test_process_init (&argc, &argv);

  tw_test_add_kind_test ("/process/values/cross-unchanged", test_process_values);
  tw_test_add_kind_test ("/process/values/ten-mib-cross-unchanged", test_process_big_values);
  g_test_add_func ("/process/values/twenty-thousand-tasks-all-correct", test_process_many_tasks);
  tw_test_add_kind_test ("/process/values/worker-error-crosses-unchanged", test_process_errors);
  tw_test_add_kind_test ("/process/values/non-normal-input-crosses", test_process_non_normal_input);
  tw_test_add_kind_test ("/process/values/non-normal-output-crosses",
                         test_process_non_normal_output);
  g_test_add_func ("/process/values/handle-refused-at-submit", test_process_unserializable);
  g_test_add_func ("/process/values/chains-cross-threads-and-processes", test_process_chain);

  return g_test_run ();
}
