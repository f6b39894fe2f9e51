/* tw-fault-worker.c
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

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tw-fault-worker.h"

/*
 * A worker that dies on purpose: TwFaultWorker:kind says how, and
 * TwFaultWorker:stage when. "input" and "output" watch the process's own
 * I/O counters (/proc/self/io) from a thread, to die in the middle of
 * reading a large input or writing a large output.
 */

struct _TwFaultWorker
{
  TwWorker  parent_instance;
  char     *kind;   /* how it dies */
  char     *stage;  /* when it dies */
};

G_DEFINE_FINAL_TYPE (TwFaultWorker, tw_fault_worker, TW_TYPE_WORKER)

enum { PROP_0, PROP_KIND, PROP_STAGE, N_PROPS };

static GParamSpec *properties[N_PROPS];

void
tw_fault_die (const char *kind)
{
  if (g_str_equal (kind, "abort"))
    abort ();
  else if (g_str_equal (kind, "segv"))
    {
      /* Past any handler, such as AddressSanitizer's. */
      signal (SIGSEGV, SIG_DFL);
      raise (SIGSEGV);
    }
  else if (g_str_equal (kind, "exit0"))
    _exit (0);
  else if (g_str_equal (kind, "exit42"))
    _exit (42);
  else if (g_str_equal (kind, "sigkill"))
    {
      /* From outside: another process sends it. */
      G_GNUC_UNUSED int ret = system ("kill -KILL $PPID");
    }
  g_error ("tw-fault-worker: still alive after dying by “%s”", kind);
}

/* The process's read or written byte count so far. */
static guint64
tw_fault_io_count (const char *which)
{
  g_autofree char *contents = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/io", &contents, NULL, NULL) ||
      (line = strstr (contents, which)) == NULL)
    g_error ("tw-fault-worker: no %s in /proc/self/io", which);

  return g_ascii_strtoull (line + strlen (which), NULL, 10);
}

typedef struct
{
  const char *which;      /* "rchar: " or "wchar: ", or NULL */
  guint64     threshold;  /* die once the count is past it */
  char       *wchan;      /* or once this file names pipe_write */
  char       *kind;
} TwFaultWatch;

/* Whether the thread whose wchan is at @path is blocked writing to a
 * pipe: a blocking write counts its bytes only once it is done. */
static gboolean
tw_fault_in_pipe_write (const char *path)
{
  g_autofree char *contents = NULL;

  return g_file_get_contents (path, &contents, NULL, NULL) &&
         strstr (contents, "pipe_write") != NULL;
}

static gpointer
tw_fault_watch_thread (gpointer data)
{
  TwFaultWatch *watch = data;

  while (watch->wchan != NULL ? !tw_fault_in_pipe_write (watch->wchan)
                              : tw_fault_io_count (watch->which) <= watch->threshold)
    g_usleep (100);
  tw_fault_die (watch->kind);

  return NULL;
}

/* Dies once @which grows by more than @bytes, or with @which NULL, once
 * this thread blocks writing to a pipe. */
static void
tw_fault_watch (const char *kind,
                const char *which,
                guint64     bytes)
{
  TwFaultWatch *watch = g_new0 (TwFaultWatch, 1);

  watch->which = which;
  if (which != NULL)
    watch->threshold = tw_fault_io_count (which) + bytes;
  else
    watch->wchan = g_strdup_printf ("/proc/self/task/%ld/wchan", (long)syscall (SYS_gettid));
  watch->kind = g_strdup (kind);
  g_thread_unref (g_thread_new ("tw-fault-watch", tw_fault_watch_thread, watch));
}

static gboolean
tw_fault_worker_setup (TwWorker      *worker,
                       GCancellable  *cancellable,
                       GError       **error)
{
  TwFaultWorker *self = TW_FAULT_WORKER (worker);

  if (g_str_equal (self->stage, "setup"))
    tw_fault_die (self->kind);
  if (g_str_equal (self->stage, "input"))
    tw_fault_watch (self->kind, "rchar: ", TW_FAULT_BIG_SIZE / 8);

  return TRUE;
}

/* Answers a byte string with its length, and anything else with a byte
 * string of that many bytes (an int32), after dying at its stage. */
static GVariant *
tw_fault_worker_call (TwWorker      *worker,
                      GVariant      *input,
                      GCancellable  *cancellable,
                      GError       **error)
{
  TwFaultWorker *self = TW_FAULT_WORKER (worker);
  g_autofree guint8 *bytes = NULL;
  gsize size;

  if (g_variant_is_of_type (input, G_VARIANT_TYPE_BYTESTRING))
    return g_variant_new_uint64 (g_variant_n_children (input));

  if (g_str_equal (self->stage, "running"))
    tw_fault_die (self->kind);

  size = g_variant_get_int32 (input);
  bytes = g_malloc0 (size);
  if (g_str_equal (self->stage, "output"))
    tw_fault_watch (self->kind, NULL, 0);
  else if (g_str_equal (self->stage, "after-result"))
    tw_fault_watch (self->kind, "wchar: ", size);

  return g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, bytes, size, 1);
}

static void
tw_fault_worker_teardown (TwWorker *worker)
{
  TwFaultWorker *self = TW_FAULT_WORKER (worker);

  if (g_str_equal (self->stage, "teardown"))
    tw_fault_die (self->kind);
}

static void
tw_fault_worker_finalize (GObject *object)
{
  TwFaultWorker *self = TW_FAULT_WORKER (object);

  g_free (self->kind);
  g_free (self->stage);

  G_OBJECT_CLASS (tw_fault_worker_parent_class)->finalize (object);
}

static void
tw_fault_worker_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  TwFaultWorker *self = TW_FAULT_WORKER (object);

  if (prop_id == PROP_KIND)
    {
      g_free (self->kind);
      self->kind = g_value_dup_string (value);
    }
  else if (prop_id == PROP_STAGE)
    {
      g_free (self->stage);
      self->stage = g_value_dup_string (value);
    }
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
tw_fault_worker_class_init (TwFaultWorkerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  TwWorkerClass *worker_class = TW_WORKER_CLASS (klass);

  object_class->finalize = tw_fault_worker_finalize;
  object_class->set_property = tw_fault_worker_set_property;
  worker_class->setup = tw_fault_worker_setup;
  worker_class->call = tw_fault_worker_call;
  worker_class->teardown = tw_fault_worker_teardown;

  properties[PROP_KIND] = g_param_spec_string ("kind", NULL, NULL, "abort",
                                               G_PARAM_WRITABLE | G_PARAM_CONSTRUCT |
                                               G_PARAM_STATIC_STRINGS);
  properties[PROP_STAGE] = g_param_spec_string ("stage", NULL, NULL, "none",
                                                G_PARAM_WRITABLE | G_PARAM_CONSTRUCT |
                                                G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tw_fault_worker_init (TwFaultWorker *self)
{
}

static GVariant *
tw_fault_identity_func (GVariant      *input,
                        GCancellable  *cancellable,
                        gpointer       user_data,
                        GError       **error)
{
  return g_variant_ref (input);
}

/* Returns its input inside one more variant. */
static GVariant *
tw_fault_wrap_func (GVariant      *input,
                    GCancellable  *cancellable,
                    gpointer       user_data,
                    GError       **error)
{
  return g_variant_ref_sink (g_variant_new_variant (input));
}

/* Leaves a descendant that holds every fd of the worker, then aborts:
 * "system" runs `sleep 15 &` as the issue did; "fork" keeps a copy of
 * the process, close-on-exec fds included, for TW_FAULT_GRANDCHILD_SECONDS. */
static GVariant *
tw_fault_grandchild_func (GVariant      *input,
                          GCancellable  *cancellable,
                          gpointer       user_data,
                          GError       **error)
{
  if (g_str_equal (g_variant_get_string (input, NULL), "system"))
    {
      G_GNUC_UNUSED int ret = system ("sleep 15 &");
    }
  else if (fork () == 0)
    {
      sleep (TW_FAULT_GRANDCHILD_SECONDS);
      _exit (0);
    }
  abort ();
}

static GVariant *
tw_fault_pid_func (GVariant      *input,
                   GCancellable  *cancellable,
                   gpointer       user_data,
                   GError       **error)
{
  return g_variant_new_int64 (getpid ());
}

void
tw_fault_register (void)
{
  tw_register_func ("pid", tw_fault_pid_func, NULL, NULL);
  g_type_ensure (TW_FAULT_TYPE_WORKER);
  tw_register_func ("identity", tw_fault_identity_func, NULL, NULL);
  tw_register_func ("wrap", tw_fault_wrap_func, NULL, NULL);
  tw_register_func ("grandchild", tw_fault_grandchild_func, NULL, NULL);
}
