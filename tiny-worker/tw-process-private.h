/* tw-process-private.h
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

#pragma once

#ifndef TW_COMPILATION
# error "This header is private to tiny-worker."
#endif

#include <gio/gio.h>
#include <signal.h>

#include "tw-pool-private.h"
#include "tw-wire-private.h"

G_BEGIN_DECLS

/*
 * The parent side of process mode: tw-process-launch.c starts, greets,
 * limits and reaps worker processes; tw-process-runner.c is the pool
 * runner that feeds them tasks. The child side (tw-process-child.c) meets
 * them only through the wire module.
 */

typedef struct
{
  const char * const *worker_argv;     /* NULL: run this program again */
  const char * const *launcher;        /* NULL: start workers directly */
  guint               cancel_grace_ms;
  guint64             max_memory;      /* bytes of address space, or 0 */
  guint               max_cpu_time;    /* seconds, or 0 */
} TwProcessOptions;

/* What every worker process of a troupe runs, shared by its pool threads. */
typedef struct
{
  /* Read-only. */
  char         **argv;              /* the worker program */
  char         **launcher;          /* a command prefix, or NULL */
  GVariant      *hello;             /* the HELLO payload */
  gint64         cancel_grace_usec;
  guint64        max_memory;        /* RLIMIT_AS of each worker, or 0 */
  guint          max_cpu_time;      /* RLIMIT_CPU of each worker, or 0 */

  /* Protected by lock. */
  GMutex         lock;
  guint          setup_failures;    /* in a row */
  guint          n_live;            /* workers started and not yet freed */
  GError        *setup_error;       /* the last one, once past the limit */
} TwProcessConfig;

/* One worker process; owned by the pool thread that started it. */
typedef struct
{
  GPid           pid;               /* 0 once reaped */
  int            wait_status;       /* once reaped, as waitpid() gives it, or -1 */
  int            stderr_fd;         /* a launched worker's stderr, or -1 */
  GThread       *stderr_thread;     /* forwards it */
  GMutex         stderr_lock;
  GString       *stderr_tail;       /* its last bytes; protected by stderr_lock */
  int            to_child;          /* non-blocking */
  TwWireReader   reader;            /* on the child's output, with its pidfd; non-blocking */
  guint64        last_id;           /* the id of the last task sent */
  gboolean       dead;              /* exited or killed, and reaped */
  gint           reaped;            /* atomic: pid is 0; ends the stderr thread */
  gboolean       broken_pipe;       /* writing failed: only read what is left */
} TwProcessWorker;

/* The runner's data is a TwProcessConfig. */
extern const TwPoolRunner tw_process_runner;

TwProcessConfig *tw_process_config_new          (const TwProcessOptions *options,
                                                 GVariant               *hello);
void             tw_process_config_free         (gpointer                config);
gboolean         tw_process_config_has_live_workers (TwProcessConfig    *config);
void             tw_process_fill_blocked_signals (sigset_t              *set);
TwProcessWorker *tw_process_worker_new          (TwProcessConfig        *config,
                                                 GCancellable           *cancellable,
                                                 int                     wake_fd,
                                                 gboolean               *retry_later,
                                                 GError                **error);
void             tw_process_worker_free         (TwProcessWorker        *worker,
                                                 TwProcessConfig        *config);
char            *tw_process_worker_kill         (TwProcessWorker        *worker,
                                                 TwProcessConfig        *config,
                                                 gboolean                force);
void             tw_process_worker_quote_stderr (TwProcessWorker        *worker,
                                                 GError                 *error);
void             tw_process_launch_init         (void);
GVariant        *tw_process_hello_new           (GType                   worker_type,
                                                 const char             *func_name,
                                                 GVariant               *properties,
                                                 GError                **error);

G_END_DECLS
