/* tw-test-workers.c: the worker types that test worker programs run
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

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "tw-test-funcs.h"

static void
tw_test_append_line (const char *path,
                     const char *line)
{
  g_autofree char *text = g_strconcat (line, "\n", NULL);
  int fd;

  if (path == NULL)
    return;

  /* One write with O_APPEND: lines from several processes never mix. */
  fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  if (write (fd, text, strlen (text)) < 0)
    g_warning ("write: %s", g_strerror (errno));
  close (fd);
}

/* TwTestFailingWorker ---------------------------------------------------- */

struct _TwTestFailingWorker
{
  TwWorker  parent_instance;
  char     *log_path;   /* construct-only: where setup logs its pid, or NULL */
};

enum {
  FAILING_PROP_0,
  FAILING_PROP_LOG_PATH,
  FAILING_N_PROPS
};

static GParamSpec *failing_properties [FAILING_N_PROPS];

G_DEFINE_FINAL_TYPE (TwTestFailingWorker, tw_test_failing_worker, TW_TYPE_WORKER)

static gboolean
tw_test_failing_worker_setup (TwWorker      *worker,
                              GCancellable  *cancellable,
                              GError       **error)
{
  TwTestFailingWorker *self = TW_TEST_FAILING_WORKER (worker);

  g_autofree char *line = g_strdup_printf ("%d", (int)getpid ());

  tw_test_append_line (self->log_path, line);

  g_set_error_literal (error, TW_TEST_PROCESS_ERROR, TW_TEST_PROCESS_ERROR_SETUP,
                       TW_TEST_SETUP_MESSAGE);

  return FALSE;
}

static GVariant *
tw_test_failing_worker_call (TwWorker      *worker,
                             GVariant      *input,
                             GCancellable  *cancellable,
                             GError       **error)
{
  /* Never reached: setup always fails. */
  return g_variant_ref (input);
}

static void
tw_test_failing_worker_finalize (GObject *object)
{
  TwTestFailingWorker *self = TW_TEST_FAILING_WORKER (object);

  g_clear_pointer (&self->log_path, g_free);

  G_OBJECT_CLASS (tw_test_failing_worker_parent_class)->finalize (object);
}

static void
tw_test_failing_worker_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  TwTestFailingWorker *self = TW_TEST_FAILING_WORKER (object);

  switch (prop_id)
    {
    case FAILING_PROP_LOG_PATH:
      g_value_set_string (value, self->log_path);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tw_test_failing_worker_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  TwTestFailingWorker *self = TW_TEST_FAILING_WORKER (object);

  switch (prop_id)
    {
    case FAILING_PROP_LOG_PATH:
      self->log_path = g_value_dup_string (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tw_test_failing_worker_class_init (TwTestFailingWorkerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  TwWorkerClass *worker_class = TW_WORKER_CLASS (klass);

  object_class->finalize = tw_test_failing_worker_finalize;
  object_class->get_property = tw_test_failing_worker_get_property;
  object_class->set_property = tw_test_failing_worker_set_property;

  worker_class->setup = tw_test_failing_worker_setup;
  worker_class->call = tw_test_failing_worker_call;

  failing_properties [FAILING_PROP_LOG_PATH] =
    g_param_spec_string ("log-path", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, FAILING_N_PROPS, failing_properties);
}

static void
tw_test_failing_worker_init (TwTestFailingWorker *self)
{
}

/* TwTestPrefixWorker ----------------------------------------------------- */

struct _TwTestPrefixWorker
{
  TwWorker  parent_instance;
  char     *prefix;     /* construct-only */
  char     *log_path;   /* construct-only: where setup and teardown log, or NULL */
};

enum {
  PREFIX_PROP_0,
  PREFIX_PROP_PREFIX,
  PREFIX_PROP_LOG_PATH,
  PREFIX_N_PROPS
};

static GParamSpec *prefix_properties [PREFIX_N_PROPS];

G_DEFINE_FINAL_TYPE (TwTestPrefixWorker, tw_test_prefix_worker, TW_TYPE_WORKER)

static gboolean
tw_test_prefix_worker_setup (TwWorker      *worker,
                             GCancellable  *cancellable,
                             GError       **error)
{
  TwTestPrefixWorker *self = TW_TEST_PREFIX_WORKER (worker);
  g_autofree char *line = g_strdup_printf ("setup %d", (int)getpid ());

  tw_test_append_line (self->log_path, line);

  return TRUE;
}

static void
tw_test_prefix_worker_teardown (TwWorker *worker)
{
  TwTestPrefixWorker *self = TW_TEST_PREFIX_WORKER (worker);
  g_autofree char *line = g_strdup_printf ("teardown %d", (int)getpid ());

  tw_test_append_line (self->log_path, line);
}

static GVariant *
tw_test_prefix_worker_call (TwWorker      *worker,
                            GVariant      *input,
                            GCancellable  *cancellable,
                            GError       **error)
{
  TwTestPrefixWorker *self = TW_TEST_PREFIX_WORKER (worker);

  return g_variant_new_take_string (g_strdup_printf ("%s:%s", self->prefix,
                                                     g_variant_get_string (input, NULL)));
}

static void
tw_test_prefix_worker_finalize (GObject *object)
{
  TwTestPrefixWorker *self = TW_TEST_PREFIX_WORKER (object);

  g_clear_pointer (&self->prefix, g_free);
  g_clear_pointer (&self->log_path, g_free);

  G_OBJECT_CLASS (tw_test_prefix_worker_parent_class)->finalize (object);
}

static void
tw_test_prefix_worker_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  TwTestPrefixWorker *self = TW_TEST_PREFIX_WORKER (object);

  switch (prop_id)
    {
    case PREFIX_PROP_PREFIX:
      g_value_set_string (value, self->prefix);
      break;

    case PREFIX_PROP_LOG_PATH:
      g_value_set_string (value, self->log_path);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tw_test_prefix_worker_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  TwTestPrefixWorker *self = TW_TEST_PREFIX_WORKER (object);

  switch (prop_id)
    {
    case PREFIX_PROP_PREFIX:
      self->prefix = g_value_dup_string (value);
      break;

    case PREFIX_PROP_LOG_PATH:
      self->log_path = g_value_dup_string (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tw_test_prefix_worker_class_init (TwTestPrefixWorkerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  TwWorkerClass *worker_class = TW_WORKER_CLASS (klass);

  object_class->finalize = tw_test_prefix_worker_finalize;
  object_class->get_property = tw_test_prefix_worker_get_property;
  object_class->set_property = tw_test_prefix_worker_set_property;

  worker_class->setup = tw_test_prefix_worker_setup;
  worker_class->call = tw_test_prefix_worker_call;
  worker_class->teardown = tw_test_prefix_worker_teardown;

  prefix_properties [PREFIX_PROP_PREFIX] =
    g_param_spec_string ("prefix", NULL, NULL,
                         "none",
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS));

  prefix_properties [PREFIX_PROP_LOG_PATH] =
    g_param_spec_string ("log-path", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, PREFIX_N_PROPS, prefix_properties);
}

static void
tw_test_prefix_worker_init (TwTestPrefixWorker *self)
{
}
