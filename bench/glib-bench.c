/* glib-bench.c: the GLib and POSIX baselines of the benchmarks (issue 6)
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
 * What a GLib programmer would write instead of a TwTroupe, each as good
 * as its documentation allows:
 *
 * - a raw GThreadPool whose tasks are result slots in one array, with a
 *   wake-up per task through one mutex and condition (GCond's documented
 *   pattern: set the value, signal, under the mutex), and no other
 *   allocation;
 * - GTask with g_task_run_in_thread(), results collected by callbacks in
 *   a main loop;
 * - the physical limit of process mode: a parent and its children
 *   exchanging the frames of tw-wire.c (a little-endian guint32 length and
 *   a serialized "(utv)" in normal form, validated on arrival) over two
 *   pipes each, pipelined and batched: the parent keeps a window of tasks
 *   in flight per child and writes and reads as many frames per syscall
 *   as are ready, and a child answers everything it read in one write;
 * - spawning /bin/true with posix_spawn() and waiting for it.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <gio/gio.h>

#include "bench-common.h"

#define CASES "thread-throughput thread-latency gtask-throughput scaling memory-gtask " \
              "chain-callbacks pipe-throughput pipe-latency spawn-true calibrate-spin"

extern char **environ;

/* One task of the raw GThreadPool baseline: its input and its result
 * slot. */
typedef struct
{
  gint64  input;
  gint64  output;
  double  half;     /* chain-callbacks only */
  gint    done;     /* atomic; set under done_lock */
} Slot;

static GMutex done_lock;
static GCond done_cond;
static gboolean waiter_blocked;   /* protected by done_lock */
static gboolean always_signal;    /* --always-signal: GCond's doc pattern as is */
static GThreadPool *half_pool;    /* chain-callbacks only */

/* The wake-up of one task. GLib's g_cond_signal() is a futex syscall
 * even when nobody waits, so by default it is skipped then, as the
 * library skips its own broadcast; --always-signal keeps it. */
static void
slot_finish (Slot *slot)
{
  g_mutex_lock (&done_lock);
  g_atomic_int_set (&slot->done, TRUE);
  if (waiter_blocked || always_signal)
    g_cond_signal (&done_cond);
  g_mutex_unlock (&done_lock);
}

static void
slot_wait (Slot *slot)
{
  if (g_atomic_int_get (&slot->done))
    return;

  g_mutex_lock (&done_lock);
  while (!g_atomic_int_get (&slot->done))
    {
      waiter_blocked = TRUE;
      g_cond_wait (&done_cond, &done_lock);
      waiter_blocked = FALSE;
    }
  g_mutex_unlock (&done_lock);
}

static void
square_slot (gpointer data,
             gpointer user_data)
{
  Slot *slot = data;

  slot->output = slot->input * slot->input;
  slot_finish (slot);
}

static void
spin_slot (gpointer data,
           gpointer user_data)
{
  Slot *slot = data;

  slot->output = (gint64)bench_spin (slot->input, 1);
  slot_finish (slot);
}

static void
square_then_halve_slot (gpointer data,
                        gpointer user_data)
{
  Slot *slot = data;

  slot->output = slot->input * slot->input;
  g_thread_pool_push (half_pool, slot, NULL);
}

static void
halve_slot (gpointer data,
            gpointer user_data)
{
  Slot *slot = data;

  slot->half = slot->output / 2.0;
  slot_finish (slot);
}

static GThreadPool *
pool_new (GFunc func,
          guint n_threads)
{
  g_autoptr(GError) error = NULL;
  /* Exclusive: the threads are started now and stay for this pool. */
  GThreadPool *pool = g_thread_pool_new (func, NULL, n_threads, TRUE, &error);

  if (pool == NULL)
    g_error ("g_thread_pool_new: %s", error->message);

  return pool;
}

static void
pool_warm_up (GThreadPool *pool)
{
  Slot slots[8] = { { 0, }, };

  for (guint i = 0; i < G_N_ELEMENTS (slots); i++)
    g_thread_pool_push (pool, &slots[i], NULL);
  for (guint i = 0; i < G_N_ELEMENTS (slots); i++)
    slot_wait (&slots[i]);
}

/* Case 1: submit n tasks, then wait for each in order. */
static void
run_thread_throughput (const BenchOptions *options)
{
  GThreadPool *pool = pool_new (square_slot, options->workers);
  Slot *slots = g_new0 (Slot, options->n);
  gint64 sum = 0;
  gint64 start, end;

  pool_warm_up (pool);

  start = bench_now_ns ();

  for (guint64 i = 0; i < options->n; i++)
    {
      slots[i].input = i;
      g_thread_pool_push (pool, &slots[i], NULL);
    }

  for (guint64 i = 0; i < options->n; i++)
    {
      slot_wait (&slots[i]);
      sum += slots[i].output;
    }

  end = bench_now_ns ();

  bench_check (sum == bench_expected_sum_of_squares (options->n), "sum of squares");
  bench_report_per_op (options, start, end);
  g_thread_pool_free (pool, FALSE, TRUE);
  g_free (slots);
}

/* Case 2: ping-pong, one task at a time through the same slot. */
static void
run_thread_latency (const BenchOptions *options)
{
  GThreadPool *pool = pool_new (square_slot, options->workers);
  Slot slot = { 0, };
  gint64 sum = 0;
  gint64 start, end;

  pool_warm_up (pool);

  start = bench_now_ns ();

  for (guint64 i = 0; i < options->n; i++)
    {
      slot.input = i;
      g_atomic_int_set (&slot.done, FALSE);
      g_thread_pool_push (pool, &slot, NULL);
      slot_wait (&slot);
      sum += slot.output;
    }

  end = bench_now_ns ();

  bench_check (sum == bench_expected_sum_of_squares (options->n), "sum of squares");
  bench_report_per_op (options, start, end);
  g_thread_pool_free (pool, FALSE, TRUE);
}

typedef struct
{
  GMainLoop *loop;
  guint64    remaining;
  gint64     sum;
} CollectState;

static void
gtask_square (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  gint64 x = (gintptr)task_data;

  g_task_return_int (task, x * x);
}

static void
gtask_done_cb (GObject      *source_object,
               GAsyncResult *result,
               gpointer      user_data)
{
  CollectState *state = user_data;

  state->sum += g_task_propagate_int (G_TASK (result), NULL);
  if (--state->remaining == 0)
    g_main_loop_quit (state->loop);
}

/* Case 1 with GTask: the input rides in the task data pointer, and the
 * results come back to callbacks in the main loop. */
static void
run_gtask_throughput (const BenchOptions *options)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  CollectState state = { loop, 8, 0 };
  gint64 start, end;

  /* Warm up GTask's thread pool. */
  for (guint i = 0; i < 8; i++)
    {
      GTask *task = g_task_new (NULL, NULL, gtask_done_cb, &state);

      g_task_run_in_thread (task, gtask_square);
      g_object_unref (task);
    }
  g_main_loop_run (loop);

  state.remaining = options->n;
  state.sum = 0;

  start = bench_now_ns ();

  for (guint64 i = 0; i < options->n; i++)
    {
      GTask *task = g_task_new (NULL, NULL, gtask_done_cb, &state);

      g_task_set_task_data (task, (gpointer)(gintptr)i, NULL);
      g_task_run_in_thread (task, gtask_square);
      g_object_unref (task);
    }

  g_main_loop_run (loop);

  end = bench_now_ns ();

  bench_check (state.sum == bench_expected_sum_of_squares (options->n), "sum of squares");
  bench_report_per_op (options, start, end);
}

/* Case 6: n CPU-bound tasks on a pool of 1 or 2 threads. */
static void
run_scaling (const BenchOptions *options)
{
  GThreadPool *pool = pool_new (spin_slot, options->workers);
  Slot *slots = g_new0 (Slot, options->n);
  guint64 expected = bench_spin (options->spin, 1);
  gint64 start, end;

  pool_warm_up (pool);

  start = bench_now_ns ();

  for (guint64 i = 0; i < options->n; i++)
    {
      slots[i].input = options->spin;
      g_thread_pool_push (pool, &slots[i], NULL);
    }

  for (guint64 i = 0; i < options->n; i++)
    {
      slot_wait (&slots[i]);
      bench_check ((guint64)slots[i].output == expected, "spin result");
    }

  end = bench_now_ns ();

  bench_report (options, (end - start) / 1e9, "s", (end - start) / 1e9);
  g_thread_pool_free (pool, FALSE, TRUE);
  g_free (slots);
}

/* Case 7: resident bytes per pending GTask that holds its input, the same
 * GVariant a troupe task holds, as task data. */
static void
run_memory_gtask (const BenchOptions *options)
{
  GTask **tasks = g_new0 (GTask *, options->n);
  gint64 before, after;

  /* The caller's array, and GTask's class, are not per-task costs. */
  memset (tasks, 0xff, options->n * sizeof *tasks);
  g_object_unref (g_task_new (NULL, NULL, NULL, NULL));

  before = bench_rss_bytes ();

  for (guint64 i = 0; i < options->n; i++)
    {
      tasks[i] = g_task_new (NULL, NULL, gtask_done_cb, NULL);
      g_task_set_task_data (tasks[i], g_variant_ref_sink (g_variant_new_int64 (i)),
                            (GDestroyNotify)g_variant_unref);
    }

  after = bench_rss_bytes ();

  bench_report (options, (double)(after - before) / options->n, "B/task", 0);
  _exit (EXIT_SUCCESS);
}

/* Case 8: square on one pool, whose task pushes the halving step to a
 * second pool itself. */
static void
run_chain_callbacks (const BenchOptions *options)
{
  GThreadPool *square_pool = pool_new (square_then_halve_slot, options->workers);
  Slot *slots = g_new0 (Slot, options->n);
  gint64 sum = 0;
  gint64 start, end;

  half_pool = pool_new (halve_slot, options->workers);
  pool_warm_up (square_pool);

  start = bench_now_ns ();

  for (guint64 i = 0; i < options->n; i++)
    {
      slots[i].input = i;
      g_thread_pool_push (square_pool, &slots[i], NULL);
    }

  for (guint64 i = 0; i < options->n; i++)
    {
      slot_wait (&slots[i]);
      sum += (gint64)(2 * slots[i].half);  /* exact below 2^53 */
    }

  end = bench_now_ns ();

  bench_check (sum == bench_expected_sum_of_squares (options->n), "sum of halves");
  bench_report_per_op (options, start, end);
  g_thread_pool_free (square_pool, FALSE, TRUE);
  g_thread_pool_free (half_pool, FALSE, TRUE);
  g_free (slots);
}

/* The frames of tw-wire.c. */
#define FRAME_TASK    2
#define FRAME_RESULT  18
#define FRAME_MAX     64    /* bytes: a frame with an int64 payload is 32 */
#define READ_CHUNK    65536
#define PIPE_BATCH    256   /* frames per write, about 8 KiB */
#define PIPE_WINDOW   4096  /* frames in flight per child */

typedef struct
{
  guint8 *data;
  gsize   start;   /* first unconsumed byte */
  gsize   end;     /* one past the last byte */
  gsize   size;
} Buffer;

static void
buffer_init (Buffer *buffer,
             gsize   size)
{
  buffer->data = g_malloc (size);
  buffer->start = buffer->end = 0;
  buffer->size = size;
}

/* Makes room for @needed more bytes at the end. */
static void
buffer_reserve (Buffer *buffer,
                gsize   needed)
{
  if (buffer->start > 0 && buffer->size - buffer->end < needed)
    {
      memmove (buffer->data, buffer->data + buffer->start, buffer->end - buffer->start);
      buffer->end -= buffer->start;
      buffer->start = 0;
    }

  if (buffer->size - buffer->end < needed)
    {
      buffer->size = MAX (buffer->size * 2, buffer->end + needed);
      buffer->data = g_realloc (buffer->data, buffer->size);
    }
}

/* Appends one frame as tw_wire_write() builds it: a (utv) GVariant,
 * serialized with g_variant_store() into aligned memory. */
static void
frame_append (Buffer  *buffer,
              guint32  kind,
              guint64  id,
              gint64   value)
{
  guint64 aligned[FRAME_MAX / 8];
  GVariant *frame;
  guint32 length;
  gsize size;

  frame = g_variant_ref_sink (g_variant_new ("(ut@v)", kind, id,
                                             g_variant_new_variant (g_variant_new_int64 (value))));
  size = g_variant_get_size (frame);
  g_assert (size <= sizeof aligned);
  g_variant_store (frame, aligned);
  g_variant_unref (frame);

  buffer_reserve (buffer, 4 + size);
  length = GUINT32_TO_LE ((guint32)size);
  memcpy (buffer->data + buffer->end, &length, 4);
  memcpy (buffer->data + buffer->end + 4, aligned, size);
  buffer->end += 4 + size;
}

/* Takes the next complete frame off @buffer, validated as tw_wire_read()
 * does (normal form, frame type, here also an int64 payload). Returns
 * FALSE if no complete frame is there yet, and exits on a bad one. */
static gboolean
frame_take (Buffer  *buffer,
            guint32 *kind,
            guint64 *id,
            gint64  *value)
{
  guint64 aligned[FRAME_MAX / 8];
  GVariant *frame;
  GVariant *payload;
  guint32 length;

  if (buffer->end - buffer->start < 4)
    return FALSE;

  memcpy (&length, buffer->data + buffer->start, 4);
  length = GUINT32_FROM_LE (length);
  bench_check (length <= sizeof aligned, "frame size");
  if (buffer->end - buffer->start < 4 + length)
    return FALSE;

  /* Copied to aligned memory, which g_variant_new_from_data() otherwise
   * does itself with an allocation. */
  memcpy (aligned, buffer->data + buffer->start + 4, length);
  buffer->start += 4 + length;

  frame = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE ("(utv)"), aligned, length,
                                                       FALSE, NULL, NULL));
  bench_check (g_variant_is_normal_form (frame), "frame in normal form");
  g_variant_get (frame, "(utv)", kind, id, &payload);
  bench_check (g_variant_is_of_type (payload, G_VARIANT_TYPE_INT64), "int64 payload");
  *value = g_variant_get_int64 (payload);
  g_variant_unref (payload);
  g_variant_unref (frame);

  return TRUE;
}

static void
write_all (int           fd,
           const guint8 *data,
           gsize         size)
{
  while (size > 0)
    {
      gssize n = write (fd, data, size);

      if (n < 0 && errno == EINTR)
        continue;
      bench_check (n > 0, "write to pipe");
      data += n;
      size -= n;
    }
}

/* Reads what is there, up to @max bytes, into @buffer; FALSE at end of
 * file. */
static gboolean
read_some (int     fd,
           Buffer *buffer,
           gsize   max)
{
  gssize n;

  buffer_reserve (buffer, max);
  do
    n = read (fd, buffer->data + buffer->end, max);
  while (n < 0 && errno == EINTR);

  if (n < 0 && errno == EAGAIN)
    return TRUE;
  bench_check (n >= 0, "read from pipe");
  buffer->end += n;

  return n > 0;
}

/* A child: reads what has arrived, up to PIPE_BATCH frames, and answers
 * it in one write, so that parent and child work at the same time. */
G_GNUC_NORETURN static void
pipe_child_main (int in_fd,
                 int out_fd)
{
  Buffer in, out;

  buffer_init (&in, 2 * READ_CHUNK);
  buffer_init (&out, 2 * READ_CHUNK);

  while (read_some (in_fd, &in, PIPE_BATCH * 32))
    {
      guint32 kind;
      guint64 id;
      gint64 x;

      while (frame_take (&in, &kind, &id, &x))
        {
          bench_check (kind == FRAME_TASK, "task frame");
          frame_append (&out, FRAME_RESULT, id, x * x);
        }

      write_all (out_fd, out.data + out.start, out.end - out.start);
      out.start = out.end = 0;
    }

  _exit (EXIT_SUCCESS);
}

typedef struct
{
  pid_t   pid;
  int     to_fd;       /* non-blocking in the parent */
  int     from_fd;     /* non-blocking in the parent */
  Buffer  out;         /* frames not yet written */
  Buffer  in;          /* bytes read, not yet parsed */
  guint64 in_flight;   /* tasks sent and not answered */
} PipeChild;

/* Forks @n children, each with two pipes. No thread exists yet, so the
 * children may use GLib. */
static PipeChild *
pipe_children_new (guint n)
{
  PipeChild *children = g_new0 (PipeChild, n);

  for (guint i = 0; i < n; i++)
    {
      int to_child[2], from_child[2];
      pid_t pid;

      bench_check (pipe (to_child) == 0 && pipe (from_child) == 0, "pipe");
      pid = fork ();
      bench_check (pid >= 0, "fork");

      if (pid == 0)
        {
          for (guint j = 0; j < i; j++)
            {
              close (children[j].to_fd);
              close (children[j].from_fd);
            }
          close (to_child[1]);
          close (from_child[0]);
          pipe_child_main (to_child[0], from_child[1]);
        }

      close (to_child[0]);
      close (from_child[1]);
      children[i].pid = pid;
      children[i].to_fd = to_child[1];
      children[i].from_fd = from_child[0];
      buffer_init (&children[i].out, 2 * READ_CHUNK);
      buffer_init (&children[i].in, 2 * READ_CHUNK);
    }

  return children;
}

static void
pipe_children_free (PipeChild *children,
                    guint      n)
{
  for (guint i = 0; i < n; i++)
    {
      close (children[i].to_fd);
      close (children[i].from_fd);
      waitpid (children[i].pid, NULL, 0);
      g_free (children[i].out.data);
      g_free (children[i].in.data);
    }

  g_free (children);
}

/* Case 3, the physical limit: n tasks over n_workers children. The
 * parent keeps up to PIPE_WINDOW tasks in flight per child, writes them
 * PIPE_BATCH frames at a time, and reads all answers that are there. */
static void
run_pipe_throughput (const BenchOptions *options)
{
  guint n_children = options->workers;
  PipeChild *children = pipe_children_new (n_children);
  struct pollfd *fds = g_new0 (struct pollfd, 2 * n_children);
  gint64 *results = g_new (gint64, options->n);
  guint64 next = 0, done = 0;
  gint64 sum = 0;
  gint64 start, end;

  for (guint i = 0; i < n_children; i++)
    {
      fcntl (children[i].to_fd, F_SETFL, O_NONBLOCK);
      fcntl (children[i].from_fd, F_SETFL, O_NONBLOCK);
    }

  start = bench_now_ns ();

  while (done < options->n)
    {
      for (guint i = 0; i < n_children; i++)
        {
          PipeChild *child = &children[i];

          /* The next batch is built once the last one is written. */
          if (child->out.end == child->out.start)
            {
              for (guint j = 0;
                   j < PIPE_BATCH && child->in_flight < PIPE_WINDOW && next < options->n;
                   j++)
                {
                  frame_append (&child->out, FRAME_TASK, next, next);
                  next++;
                  child->in_flight++;
                }
            }

          fds[2 * i].fd = child->to_fd;
          fds[2 * i].events = child->out.end > child->out.start ? POLLOUT : 0;
          fds[2 * i + 1].fd = child->from_fd;
          fds[2 * i + 1].events = child->in_flight > 0 ? POLLIN : 0;
        }

      if (poll (fds, 2 * n_children, -1) < 0 && errno != EINTR)
        bench_check (FALSE, "poll");

      for (guint i = 0; i < n_children; i++)
        {
          PipeChild *child = &children[i];
          guint32 kind;
          guint64 id;
          gint64 value;

          if (fds[2 * i].revents & (POLLOUT | POLLERR))
            {
              gssize n = write (child->to_fd, child->out.data + child->out.start,
                                child->out.end - child->out.start);

              bench_check (n > 0 || errno == EAGAIN || errno == EINTR, "write to child");
              if (n > 0)
                child->out.start += n;
              if (child->out.start == child->out.end)
                child->out.start = child->out.end = 0;
            }

          if (fds[2 * i + 1].revents & (POLLIN | POLLHUP))
            {
              bench_check (read_some (child->from_fd, &child->in, READ_CHUNK), "child alive");
              while (frame_take (&child->in, &kind, &id, &value))
                {
                  bench_check (kind == FRAME_RESULT && id < options->n, "result frame");
                  results[id] = value;
                  child->in_flight--;
                  done++;
                }
            }
        }
    }

  for (guint64 i = 0; i < options->n; i++)
    sum += results[i];

  end = bench_now_ns ();

  bench_check (sum == bench_expected_sum_of_squares (options->n), "sum of squares");
  bench_report_per_op (options, start, end);
  pipe_children_free (children, n_children);
  g_free (results);
  g_free (fds);
}

/* Case 4: one frame there and one back, n times, over blocking pipes. */
static void
run_pipe_latency (const BenchOptions *options)
{
  PipeChild *child = pipe_children_new (1);
  gint64 sum = 0;
  gint64 start, end;

  start = bench_now_ns ();

  for (guint64 i = 0; i < options->n; i++)
    {
      guint32 kind;
      guint64 id;
      gint64 value;

      frame_append (&child->out, FRAME_TASK, i, i);
      write_all (child->to_fd, child->out.data, child->out.end);
      child->out.start = child->out.end = 0;

      while (!frame_take (&child->in, &kind, &id, &value))
        bench_check (read_some (child->from_fd, &child->in, READ_CHUNK), "child alive");
      bench_check (kind == FRAME_RESULT && id == i, "result frame");
      sum += value;
    }

  end = bench_now_ns ();

  bench_check (sum == bench_expected_sum_of_squares (options->n), "sum of squares");
  bench_report_per_op (options, start, end);
  pipe_children_free (child, 1);
}

static void
spawn_true (void)
{
  char *argv[] = { (char *)"/bin/true", NULL };
  pid_t pid;
  int status;

  bench_check (posix_spawn (&pid, argv[0], NULL, NULL, argv, environ) == 0, "posix_spawn");
  bench_check (waitpid (pid, &status, 0) == pid && WIFEXITED (status) &&
               WEXITSTATUS (status) == 0, "/bin/true exits 0");
}

/* Case 5: spawning /bin/true twice, one after the other, n times; the
 * value is the median. */
static void
run_spawn_true (const BenchOptions *options)
{
  gint64 *samples = g_new (gint64, options->n);
  gint64 total = 0;

  for (guint64 i = 0; i < options->n; i++)
    {
      gint64 start = bench_now_ns ();

      spawn_true ();
      spawn_true ();

      samples[i] = bench_now_ns () - start;
      total += samples[i];
    }

  bench_report (options, (double)bench_median (samples, options->n), "ns/op", total / 1e9);
  g_free (samples);
}

/* How many iterations of bench_spin() take --n microseconds on this
 * core: the median of a few estimates. */
static void
run_calibrate_spin (const BenchOptions *options)
{
  const guint64 probe = 2000000;
  gint64 samples[7];
  volatile guint64 sink;

  /* Let the core reach its working clock first. */
  for (gint64 start = bench_now_ns (); bench_now_ns () - start < 200 * G_TIME_SPAN_MILLISECOND * 1000;)
    sink = bench_spin (probe / 10, 0);

  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    {
      gint64 start = bench_now_ns ();

      sink = bench_spin (probe, i);
      samples[i] = bench_now_ns () - start;
    }
  (void)sink;

  bench_report (options,
                (double)probe * options->n * 1000 / bench_median (samples, G_N_ELEMENTS (samples)),
                "iterations", 0);
}

int
main (int   argc,
      char *argv[])
{
  BenchOptions options;

  if (argc > 2 && g_str_equal (argv[argc - 1], "--always-signal"))
    {
      always_signal = TRUE;
      argc--;
    }

  options = bench_parse_options (argc, argv, CASES);

  if (g_str_equal (options.name, "thread-throughput"))
    run_thread_throughput (&options);
  else if (g_str_equal (options.name, "thread-latency"))
    run_thread_latency (&options);
  else if (g_str_equal (options.name, "gtask-throughput"))
    run_gtask_throughput (&options);
  else if (g_str_equal (options.name, "scaling"))
    run_scaling (&options);
  else if (g_str_equal (options.name, "memory-gtask"))
    run_memory_gtask (&options);
  else if (g_str_equal (options.name, "chain-callbacks"))
    run_chain_callbacks (&options);
  else if (g_str_equal (options.name, "pipe-throughput"))
    run_pipe_throughput (&options);
  else if (g_str_equal (options.name, "pipe-latency"))
    run_pipe_latency (&options);
  else if (g_str_equal (options.name, "spawn-true"))
    run_spawn_true (&options);
  else if (g_str_equal (options.name, "calibrate-spin"))
    run_calibrate_spin (&options);
  else
    {
      g_printerr ("Unknown case “%s”; cases: %s\n", options.name, CASES);
      return 2;
    }

  return EXIT_SUCCESS;
}
