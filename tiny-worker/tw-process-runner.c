/* tw-process-runner.c
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

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "tw-error.h"
#include "tw-future-private.h"
#include "tw-process-private.h"

/*
 * The serving loop. Each pool thread keeps up to `depth` tasks in flight
 * to its child: it sends them in one write and reads the answers, which
 * come back in order. The depth adapts to how long a task takes, so that
 * a child has about PIPELINE_USEC of work queued, plus twice the round
 * trip: trivial tasks travel in batches, and a worker behind srun or ssh
 * still has work while the next batch travels, while long tasks are not
 * hoarded by one worker (at least two are in flight, so the round trip is
 * hidden). A lone task is sent at once. Through a launcher, the thread
 * writes only when it would wait, once, with a NOP if it has no task to
 * send: see tw_process_server_read_ready().
 */

#define PIPELINE_USEC  500
/* Deeper pipelines measured slower through srun, not faster. */
#define MAX_DEPTH      64

/* A worker that cannot start for want of file descriptors is tried again
 * after 50 ms, doubling up to 1.6 s, for as long as other workers serve;
 * with none, or with tasks in hand, MAX_START_RETRIES tries are made
 * before the tasks fail with the reason. */
#define RETRY_MSEC         50
#define MAX_START_RETRIES  6

/* How many times a task goes to the next worker because its worker broke
 * the protocol in a frame about another task. */
#define MAX_REQUEUES       3

typedef struct
{
  TwFuture  *future;       /* owned */
  GVariant  *input;        /* owned */
  gboolean   chunk;        /* input is an array; answered by an array as long */
  guint64    id;           /* the id sent to the current child, or 0 */
  gint64     cancel_time;  /* when CANCEL was sent, or 0 */
  gint64     sent_time;    /* when it was sent to an idle child, or 0 */
  gboolean   settled;      /* cancelled before it started: its answer is
                            * only awaited to keep the order */
  gboolean   started;      /* it reached the head of the pipeline */
  guint      attempt;      /* how many times it failed and was retried */
  guint      requeued;     /* how many workers broke the protocol while it was
                            * the head, blaming another task */
  gboolean   progressed;   /* the child said it runs it (STARTED, PROGRESS) */
  gboolean   survived;     /* a child died while it was the head, with no
                            * sign that it had started it */
} TwInFlight;

typedef struct
{
  TwPool           *pool;
  TwProcessConfig  *config;
  TwProcessWorker  *worker;        /* NULL until started, and after it died */
  GQueue            in_flight;     /* TwInFlight, oldest first */
  GCancellable     *cancellable;   /* shared by the futures in flight */
  int               wake_fd;       /* woken by it and the pool's stop, or -1 */
  gulong            cancel_handler;
  guint             start_retries; /* starts put off for want of fds, in a row */
  GByteArray       *out;           /* frames to send */
  guint             depth;
  gint64            last_answer;   /* when the head of in_flight became the head */
  gint64            service_usec;  /* moving average of the time per task */
  gint64            round_trip_usec; /* of a task sent to an idle child, averaged */
  gboolean          relayed;       /* workers are started by a launcher */
} TwProcessServer;

static void
tw_in_flight_settle (TwProcessServer *server,
                     TwInFlight      *task,
                     GVariant        *value,
                     GError          *error)
{
  if (!task->settled)
    tw_future_settle (task->future, value, error);
  else
    {
      g_clear_pointer (&value, g_variant_unref);
      g_clear_error (&error);
    }
  g_object_unref (task->future);
  g_variant_unref (task->input);
  g_free (task);
}

static void
tw_process_server_wake_cb (GCancellable *cancellable,
                           gpointer      data)
{
  tw_wire_wake (GPOINTER_TO_INT (data));
}

/* A cancellable that wakes this thread's waits through its eventfd: one
 * fd for the thread's life, where GCancellable's own would abort the
 * application when no fd is left. */
static void
tw_process_server_new_cancellable (TwProcessServer *server)
{
  server->cancellable = g_cancellable_new ();
  if (server->wake_fd >= 0)
    server->cancel_handler = g_cancellable_connect (server->cancellable,
                                                    G_CALLBACK (tw_process_server_wake_cb),
                                                    GINT_TO_POINTER (server->wake_fd), NULL);
}

static void
tw_process_server_drop_cancellable (TwProcessServer *server)
{
  g_cancellable_disconnect (server->cancellable, server->cancel_handler);
  server->cancel_handler = 0;
  g_clear_object (&server->cancellable);
}

/* Whether a thread that has tasks in flight takes one more: only when
 * there are more than enough for every worker, so that a few tasks
 * spread over all workers, starting ones included. */
static gboolean
tw_process_server_may_take (const TwPoolLoad *load)
{
  return load->n_idle == 0 && load->n_queued > load->n_workers;
}

/* Takes tasks from the pool until the pipeline is full. Returns FALSE when
 * the pool stops and nothing is in flight. */
static gboolean
tw_process_server_fill (TwProcessServer *server)
{
  /* Refill once half the pipeline has drained, so that tasks travel in
   * batches rather than one write each. Through a launcher, they are
   * sent only when this thread would wait: take them at any time. */
  if (!server->relayed && server->in_flight.length > server->depth / 2)
    return TRUE;

  while (server->in_flight.length < server->depth)
    {
      gboolean block = server->in_flight.length == 0;
      TwInFlight *task;
      TwPoolItem item;

      if (!tw_pool_pop_task (server->pool, block ? NULL : tw_process_server_may_take, &item))
        return !block;

      /* It stays pending until the child gets to it. */
      if (!tw_future_dispatch (item.future, server->cancellable))
        {
          /* Cancelled after it was popped. */
          g_object_unref (item.future);
          g_variant_unref (item.input);
          continue;
        }

      task = g_new0 (TwInFlight, 1);
      task->future = item.future;
      task->input = item.input;
      task->chunk = item.chunk;
      g_queue_push_tail (&server->in_flight, task);
    }

  return TRUE;
}

/* A task taken out of the pipeline failed: it goes to the back for
 * another attempt if the troupe allows one, or settles with @error. */
static void
tw_process_server_fail_task (TwProcessServer *server,
                             TwInFlight      *task,
                             GError          *error)
{
  if (task->settled || !tw_pool_should_retry (server->pool, error, task->attempt))
    {
      tw_in_flight_settle (server, task, NULL, error);
      return;
    }

  g_error_free (error);
  task->attempt++;
  task->id = 0;
  task->cancel_time = 0;
  g_queue_push_tail (&server->in_flight, task);
}

/* Asks the child to skip or stop @task. */
static void
tw_process_server_send_cancel (TwProcessServer *server,
                               TwInFlight      *task)
{
  task->cancel_time = g_get_monotonic_time ();
  if (server->worker != NULL && !server->worker->broken_pipe)
    tw_wire_write (server->worker->to_child, TW_WIRE_CANCEL, task->id,
                   g_variant_new ("()"), server->worker->reader.pid_fd, NULL);
}

/* The head of the pipeline, once sent, is the task the child runs: it
 * becomes RUNNING, and its timeout starts. One that was cancelled while
 * it waited behind others, or by a cancelling shutdown, is skipped. */
static void
tw_process_server_start_head (TwProcessServer *server)
{
  TwInFlight *head = g_queue_peek_head (&server->in_flight);

  if (head == NULL || head->id == 0 || head->started || head->settled)
    return;

  head->started = TRUE;
  if (tw_pool_is_cancelling (server->pool))
    tw_future_cancel_if_pending (head->future);

  if (tw_future_start (head->future, server->cancellable))
    tw_pool_watch (server->pool, head->future);
  else
    {
      head->settled = TRUE;
      tw_process_server_send_cancel (server, head);
    }
}

/* Fails the head task with @error, if any; the others never started in
 * that child and go to the next one. */
static void
tw_process_server_lose_worker (TwProcessServer *server,
                               GError          *error)
{
  TwInFlight *head = error ? g_queue_pop_head (&server->in_flight) : NULL;

  tw_process_worker_free (server->worker, server->config);
  server->worker = NULL;

  for (GList *l = server->in_flight.head; l != NULL; )
    {
      TwInFlight *task = l->data;
      GList *next = l->next;

      task->id = 0;
      task->cancel_time = 0;
      if (task->settled)
        {
          g_queue_delete_link (&server->in_flight, l);
          tw_in_flight_settle (server, task, NULL, NULL);
        }
      l = next;
    }

  if (head != NULL)
    tw_process_server_fail_task (server, head, error);
  else
    g_clear_error (&error);
}

/* The child died, broke the protocol or stopped answering: kills and
 * reaps it, and turns @cause into the error of the task it was running. */
static void
tw_process_server_worker_failed (TwProcessServer *server,
                                 GError          *cause,
                                 gboolean         innocent)
{
  gboolean crashed = g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_autofree char *how = tw_process_worker_kill (server->worker, server->config, !crashed);
  TwInFlight *head = g_queue_peek_head (&server->in_flight);
  GError *error = NULL;

  if (head == NULL || head->id == 0)
    ;  /* It died between tasks: nobody to blame. */
  else if (innocent && head->requeued < MAX_REQUEUES)
    head->requeued++;  /* It goes to the next worker. */
  else if (crashed && !head->progressed && !head->survived && head->cancel_time == 0)
    head->survived = TRUE;  /* The child may have died of the task before: once more. */
  else if (crashed)
    g_set_error (&error, TW_ERROR, TW_ERROR_WORKER_CRASHED,
                 "The worker process %s while running the task", how);
  else if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                 "The task was cancelled; its worker process did not stop within "
                 "%" G_GINT64_FORMAT " ms and was killed",
                 server->config->cancel_grace_usec / 1000);
  else
    g_propagate_prefixed_error (&error, g_steal_pointer (&cause),
                                "The worker process %s: ", how);

  g_clear_error (&cause);
  tw_process_worker_quote_stderr (server->worker, error);
  tw_process_server_lose_worker (server, error);
}

/* Waits before another try to start a worker, or until the pool stops. */
static void
tw_process_server_back_off (TwProcessServer *server)
{
  struct pollfd pfd = { .fd = server->wake_fd, .events = POLLIN };
  guint msec = RETRY_MSEC << MIN (MAX (server->start_retries, 1) - 1, 5);

  if (g_cancellable_is_cancelled (tw_pool_get_stop_cancellable (server->pool)))
    return;
  if (pfd.fd < 0)
    g_usleep (msec * 1000);
  else if (poll (&pfd, 1, msec) > 0)
    {
      guint64 count;
      G_GNUC_UNUSED gssize n = read (pfd.fd, &count, sizeof count);
    }
}

/* Starts a child; with @error NULL, a failure is reported later. One
 * that failed for want of fds is counted in start_retries. */
static void
tw_process_server_start (TwProcessServer  *server,
                         GError          **error)
{
  gboolean retry_later;

  server->worker = tw_process_worker_new (server->config,
                                          tw_pool_get_stop_cancellable (server->pool),
                                          server->wake_fd, &retry_later, error);
  if (server->worker != NULL || !retry_later)
    server->start_retries = 0;
  else
    server->start_retries++;
}

/* Whether this thread, which has no child and no task, should try again
 * to start one before it takes a task: while other workers serve, it
 * keeps trying; alone, it gives up after MAX_START_RETRIES tries, and
 * the tasks it then takes fail with the reason. */
static gboolean
tw_process_server_should_retry_start (TwProcessServer *server)
{
  return server->worker == NULL && server->start_retries > 0 &&
         server->in_flight.length == 0 &&
         !g_cancellable_is_cancelled (tw_pool_get_stop_cancellable (server->pool)) &&
         (server->start_retries < MAX_START_RETRIES ||
          tw_process_config_has_live_workers (server->config));
}

/* Starts a child if there is none. Failing that, every task in flight
 * fails with the setup error, as they were given to that worker; for
 * want of fds, they wait a while for it first. */
static gboolean
tw_process_server_ensure_worker (TwProcessServer *server)
{
  GError *error = NULL;
  TwInFlight *task;

  if (server->worker != NULL)
    return TRUE;

  tw_process_server_start (server, &error);
  if (server->worker != NULL)
    return TRUE;

  if (server->start_retries > 0 && server->start_retries < MAX_START_RETRIES)
    {
      g_error_free (error);
      tw_process_server_back_off (server);
      return FALSE;
    }

  while ((task = g_queue_pop_head (&server->in_flight)) != NULL)
    tw_in_flight_settle (server, task, NULL, g_error_copy (error));
  g_error_free (error);

  return FALSE;
}

static gboolean
tw_process_server_send (TwProcessServer  *server,
                        GError          **error)
{
  guint64 *last_id = &server->worker->last_id;
  GList *first_new = NULL;
  guint length;

  /* The tasks not sent yet are the last ones. */
  for (GList *l = server->in_flight.tail; l != NULL && ((TwInFlight *)l->data)->id == 0;
       l = l->prev)
    first_new = l;

  for (GList *l = first_new; l != NULL; l = l->next)
    {
      TwInFlight *task = l->data;

      task->id = ++*last_id;
      task->sent_time = 0;
      if (!tw_wire_append (server->out,
                           task->chunk ? TW_WIRE_CHUNK : TW_WIRE_TASK,
                           task->id, task->input, error))
        return FALSE;
    }

  /* A relay that keeps back what follows an unacknowledged message needs
   * a reply to what it passed on (see tw_wire_nudge()). */
  if (server->out->len == 0 && server->relayed && server->worker->reader.unanswered)
    tw_wire_append (server->out, TW_WIRE_NOP, 0, g_variant_new ("()"), NULL);

  if (server->out->len == 0)
    return TRUE;

  /* A head sent to an idle child measures the round trip. */
  if (first_new == server->in_flight.head || server->last_answer == 0)
    server->last_answer = g_get_monotonic_time ();
  if (first_new == server->in_flight.head)
    ((TwInFlight *)first_new->data)->sent_time = server->last_answer;

  length = server->out->len;
  if (tw_wire_flush (server->worker->to_child, server->out, server->worker->reader.pid_fd, error))
    {
      server->worker->reader.unanswered = FALSE;
      tw_process_server_start_head (server);
      return TRUE;
    }

  /* The child never got these: they are not to blame for its end. But
   * one that died taking in the head, it was busy with: the head is. */
  if (server->out->len < length && first_new == server->in_flight.head)
    {
      tw_process_server_start_head (server);
      first_new = first_new->next;
    }
  for (GList *l = first_new; l != NULL; l = l->next)
    ((TwInFlight *)l->data)->id = 0;
  g_byte_array_set_size (server->out, 0);

  return FALSE;
}

/* A failed send means the child is gone, but answers it wrote before
 * dying may still be in the pipe: they are read first, and the end of
 * the pipe then blames the task it was running. Anything else is fatal. */
static gboolean
tw_process_server_send_or_drain (TwProcessServer *server)
{
  GError *error = NULL;

  if (server->worker->broken_pipe || tw_process_server_send (server, &error))
    return TRUE;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED))
    {
      server->worker->broken_pipe = TRUE;
      g_error_free (error);
      return TRUE;
    }

  tw_process_server_worker_failed (server, error, FALSE);

  return FALSE;
}

/* Sends CANCEL for every task in flight whose future was cancelled, and
 * gives them all a fresh cancellable to wake this thread with. A task
 * behind the head was settled by tw_future_cancel() already: the child
 * skips it. The head may be running: it has the grace period. */
static void
tw_process_server_forward_cancels (TwProcessServer *server)
{
  GCancellable *old = g_object_ref (server->cancellable);

  /* Futures point at the old one until they are re-pointed: free it after. */
  tw_process_server_drop_cancellable (server);
  tw_process_server_new_cancellable (server);
  for (GList *l = server->in_flight.head; l != NULL; l = l->next)
    tw_future_set_cancellable (((TwInFlight *)l->data)->future, server->cancellable);
  g_object_unref (old);

  /* After re-pointing, so a cancel that came in between is seen here.
   * From the tail: the child must learn that the tasks behind the head
   * are cancelled before the head stops, or it would start the next. */
  for (GList *l = server->in_flight.tail; l != NULL; l = l->prev)
    {
      TwInFlight *task = l->data;

      if (task->cancel_time != 0 || task->settled)
        continue;

      if (!task->started && tw_future_is_done (task->future))
        task->settled = TRUE;
      else if (!task->started || !tw_future_get_cancel_requested (task->future))
        continue;

      if (task->id != 0)
        tw_process_server_send_cancel (server, task);
    }
}

/* A chunk of inputs must be answered by an array of as many outputs: an
 * av, an array of the one basic fixed-size type a plain function's
 * outputs share (see #TwChunkBuilder), or a chunk function's own array.
 * The child is not to blame for the task's own failure: only the task
 * fails. */
static GError *
tw_process_server_check_chunk (TwInFlight *task,
                               GVariant   *value)
{
  gsize length = g_variant_n_children (task->input);

  if (g_variant_type_is_array (g_variant_get_type (value)) &&
      g_variant_n_children (value) == length)
    return NULL;

  return g_error_new (TW_ERROR, TW_ERROR_PROTOCOL,
                      "A chunk of %" G_GSIZE_FORMAT " inputs was answered by a value of "
                      "type %s with %" G_GSIZE_FORMAT " elements", length,
                      g_variant_get_type_string (value), g_variant_n_children (value));
}

/* Only the troupe may say that a task was cancelled (when it asked the
 * worker to stop it) or shut down: a worker's claim of either becomes a
 * plain error that quotes it. */
static GError *
tw_process_server_unforge (TwInFlight *task,
                           GError     *error)
{
  GError *plain;

  if (!(g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && task->cancel_time == 0) &&
      !g_error_matches (error, TW_ERROR, TW_ERROR_SHUT_DOWN))
    return error;

  plain = g_error_new (TW_ERROR, TW_ERROR_FAILED,
                       "The worker process reported an error of domain “%s” code %d, "
                       "which only the troupe may report: %s",
                       g_quark_to_string (error->domain), error->code, error->message);
  g_error_free (error);

  return plain;
}

/* Sizes the pipeline from the time per task and the round trip, once
 * the head's answer came at @now; @head_sent is when the head was sent
 * to an idle child, or 0. The time per task is measured between answers,
 * which a starved pipeline stretches to the round trip: the depth then
 * still grows by half each answer, until the child is kept busy. */
static void
tw_process_server_measure (TwProcessServer *server,
                           gint64           now,
                           gint64           head_sent)
{
  if (head_sent != 0)
    server->round_trip_usec = server->round_trip_usec == 0
                              ? now - head_sent
                              : (7 * server->round_trip_usec + (now - head_sent)) / 8;

  server->service_usec = (7 * server->service_usec + (now - server->last_answer)) / 8;
  server->last_answer = now;
  server->depth = CLAMP ((PIPELINE_USEC + 2 * server->round_trip_usec) /
                         MAX (server->service_usec, 1), 2, MAX_DEPTH);
}

/* Settles the head task with its answer; FALSE for a frame that breaks
 * the protocol, with @error set. */
static gboolean
tw_process_server_answer (TwProcessServer  *server,
                          TwWireFrame      *frame,
                          gboolean         *innocent,
                          GError          **error)
{
  TwInFlight *head = g_queue_peek_head (&server->in_flight);
  GError *task_error = NULL;
  gint64 head_sent;
  gint64 now;

  if (frame->kind == TW_WIRE_NOP)
    return TRUE;

  if (frame->kind == TW_WIRE_STARTED)
    {
      head->progressed |= frame->id == head->id;
      return TRUE;
    }

  /* Progress of the running task, not an answer. */
  if (frame->kind == TW_WIRE_PROGRESS && frame->id == head->id &&
      g_variant_is_of_type (frame->payload, G_VARIANT_TYPE ("(ds)")))
    {
      const char *message;
      gdouble fraction;

      g_variant_get (frame->payload, "(d&s)", &fraction, &message);
      head->progressed = TRUE;
      if (!head->settled)
        tw_future_set_progress (head->future, fraction, *message ? message : NULL);
      return TRUE;
    }

  /* A frame about another task says nothing against the head. */
  *innocent = frame->id != head->id;
  if (frame->id != head->id ||
      (frame->kind != TW_WIRE_RESULT && frame->kind != TW_WIRE_ERROR))
    {
      g_set_error (error, TW_ERROR, TW_ERROR_PROTOCOL,
                   "Unexpected frame of kind %u for task %" G_GUINT64_FORMAT
                   " while waiting for task %" G_GUINT64_FORMAT,
                   frame->kind, frame->id, head->id);
      return FALSE;
    }

  if (frame->kind == TW_WIRE_ERROR &&
      (task_error = tw_wire_error_from_variant (frame->payload)) == NULL)
    {
      g_set_error (error, TW_ERROR, TW_ERROR_PROTOCOL,
                   "The error of task %" G_GUINT64_FORMAT " is a %s, not a (sis)",
                   frame->id, g_variant_get_type_string (frame->payload));
      return FALSE;
    }

  head_sent = head->sent_time;
  if (task_error != NULL)
    task_error = tw_process_server_unforge (head, task_error);
  if (frame->kind == TW_WIRE_RESULT && head->chunk)
    task_error = tw_process_server_check_chunk (head, frame->payload);

  g_queue_pop_head (&server->in_flight);
  if (task_error != NULL)
    tw_process_server_fail_task (server, head, task_error);
  else
    tw_in_flight_settle (server, head, g_steal_pointer (&frame->payload), NULL);
  tw_process_server_start_head (server);

  now = g_get_monotonic_time ();
  tw_process_server_measure (server, now, head_sent);

  return TRUE;
}

/* Acts on a frame read from the child. */
static void
tw_process_server_handle (TwProcessServer *server,
                          TwWireFrame     *frame)
{
  GError *error = NULL;
  gboolean innocent = FALSE;

  if (!tw_process_server_answer (server, frame, &innocent, &error))
    tw_process_server_worker_failed (server, error, innocent);
  tw_wire_frame_clear (frame);
}

/* Through a launcher, this thread writes only when it would wait for
 * the child, having read all there is: a relay such as srun, with
 * Nagle's algorithm on both of its sockets, passes one message at a time
 * each way, and a second write would wait 40 ms for an acknowledgement.
 * Returns TRUE when a frame was there, or the child failed. */
static gboolean
tw_process_server_read_ready (TwProcessServer *server)
{
  TwInFlight *head = g_queue_peek_head (&server->in_flight);
  GError *error = NULL;
  TwWireFrame frame;

  if (!server->relayed || head->id == 0 || server->worker->broken_pipe)
    return FALSE;

  server->worker->reader.poll_first = FALSE;
  if (tw_wire_read (&server->worker->reader, NULL, 0, &frame, &error))
    {
      tw_process_server_handle (server, &frame);
      return TRUE;
    }

  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    {
      tw_process_server_worker_failed (server, error, FALSE);
      return TRUE;
    }
  g_error_free (error);

  return FALSE;
}

/* Sends what is unsent and waits for one answer, or for a cancellation. */
static void
tw_process_server_pump (TwProcessServer *server)
{
  TwInFlight *head;
  GError *error = NULL;
  TwWireFrame frame;
  gint64 deadline = -1;

  if (!tw_process_server_ensure_worker (server) ||
      tw_process_server_read_ready (server) ||
      !tw_process_server_send_or_drain (server))
    return;

  head = g_queue_peek_head (&server->in_flight);
  if (head->cancel_time != 0)
    deadline = MAX (head->cancel_time, server->last_answer) + server->config->cancel_grace_usec;

  /* A lone task just sent to an idle child cannot be answered yet. */
  server->worker->reader.poll_first = head->sent_time == server->last_answer &&
                                      server->in_flight.length == 1;
  if (tw_wire_read (&server->worker->reader, server->cancellable, deadline, &frame, &error))
    tw_process_server_handle (server, &frame);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_clear_error (&error);
      tw_process_server_forward_cancels (server);
    }
  else
    tw_process_server_worker_failed (server, error, FALSE);
}

static void
tw_process_serve (TwPool   *pool,
                  gpointer  data)
{
  GCancellable *stop = tw_pool_get_stop_cancellable (pool);
  sigset_t blocked;
  gulong stop_handler = 0;
  TwProcessServer server = {
    .pool = pool,
    .config = data,
    .in_flight = G_QUEUE_INIT,
    .wake_fd = tw_wire_wake_new (NULL),
    .out = g_byte_array_new (),
    .depth = 2,
  };

  server.relayed = server.config->launcher != NULL;

  /* Writing to a worker process that died must fail with EPIPE, not kill
   * the application (see tw-wire.c), and the program's signals go to its
   * own threads. Only this thread talks to children; thread-mode workers
   * run user code with the signal mask the program set. */
  tw_process_fill_blocked_signals (&blocked);
  pthread_sigmask (SIG_BLOCK, &blocked, NULL);

  tw_process_server_new_cancellable (&server);
  if (server.wake_fd >= 0)
    stop_handler = g_cancellable_connect (stop, G_CALLBACK (tw_process_server_wake_cb),
                                          GINT_TO_POINTER (server.wake_fd), NULL);

  /* Start the child before the first task, so it does not pay for it;
   * a failure is retried, and reported, with the first task. One put off
   * for want of fds is retried before this thread takes any task. */
  tw_process_server_start (&server, NULL);

  for (;;)
    {
      if (tw_process_server_should_retry_start (&server))
        {
          tw_process_server_back_off (&server);
          tw_process_server_start (&server, NULL);
          continue;
        }
      if (!tw_process_server_fill (&server))
        break;
      tw_process_server_pump (&server);
    }

  g_assert (server.in_flight.length == 0);

  if (server.worker != NULL)
    tw_process_worker_free (server.worker, server.config);
  g_cancellable_disconnect (stop, stop_handler);
  tw_process_server_drop_cancellable (&server);
  if (server.wake_fd >= 0)
    close (server.wake_fd);
  g_byte_array_unref (server.out);
}

const TwPoolRunner tw_process_runner = {
  .check_input = tw_wire_check_value,
  .serve = tw_process_serve,
};
