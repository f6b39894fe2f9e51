/* tw-wire.c
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
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tw-error.h"
#include "tw-wire-private.h"

/* Everything read here may come from a broken or hostile process: sizes
 * are bounded, frames must be in normal form and of the frame type, and
 * payload types are checked by the caller for each kind. */

/* Unread bytes start this far into the buffer, which malloc aligns to
 * 8 bytes or more: the body of a frame there, after its 4-byte length,
 * is then aligned as GVariant needs, and can be taken without a copy. */
#define LEAD       4
/* How much one read asks for at least. */
#define READ_SIZE  65536
/* A frame at least this long is handed over in the buffer it was read
 * into, rather than copied out of it. */
#define TAKE_MIN   65536

void
tw_wire_reader_init (TwWireReader *reader,
                     int           fd)
{
  reader->fd = fd;
  reader->pid_fd = -1;
  reader->pid = 0;
  reader->wake_fd = -1;
  reader->buffer = g_byte_array_sized_new (LEAD);
  g_byte_array_set_size (reader->buffer, LEAD);
  reader->offset = LEAD;
  reader->newline = FALSE;
  reader->poll_first = FALSE;
  reader->nudge_fd = -1;
  reader->unanswered = FALSE;
  reader->nudged = FALSE;
}

void
tw_wire_reader_clear (TwWireReader *reader)
{
  g_clear_pointer (&reader->buffer, g_byte_array_unref);
}

void
tw_wire_frame_clear (TwWireFrame *frame)
{
  g_clear_pointer (&frame->payload, g_variant_unref);
}

/*
 * tw_wire_wake_new:
 *
 * An eventfd to wake a wait with: GCancellable's own fd would abort the
 * process when no fd is left (GWakeup), this one fails with @error. Hook
 * a cancellable to it with g_cancellable_connect() and tw_wire_wake().
 */
int
tw_wire_wake_new (GError **error)
{
  int fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);

  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot create an eventfd: %s", g_strerror (saved_errno));
    }

  return fd;
}

void
tw_wire_wake (int wake_fd)
{
  guint64 one = 1;
  G_GNUC_UNUSED gssize n = write (wake_fd, &one, sizeof one);
}

/* Without a wake fd, a cancellable is looked at this often. */
#define POLL_SLICE_MSEC 20
/* Without a pidfd, whether the peer lives is looked at this often. */
#define PID_SLICE_MSEC  250

/* Whether child @pid has exited (not reaping it) or is no child of ours. */
static gboolean
tw_wire_pid_exited (GPid pid)
{
  siginfo_t info = { 0, };
  int ret;

  do
    ret = waitid (P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT);
  while (ret < 0 && errno == EINTR);

  return ret < 0 || info.si_pid == pid;
}

/* Waits until @fd is ready for @events. Returns 1 when ready, 0 when
 * @deadline passed, 2 when the peer behind @pid_fd (or, without one,
 * child @pid if not 0) is gone, and -1 with @error set when @cancellable
 * fired (it wakes @wake_fd). */
static int
tw_wire_poll (int            fd,
              short          events,
              int            pid_fd,
              GPid           pid,
              int            wake_fd,
              GCancellable  *cancellable,
              gint64         deadline,
              GError       **error)
{
  struct pollfd fds[3] = { { .fd = fd, .events = events },
                           { .fd = pid_fd, .events = POLLIN },
                           { .fd = cancellable ? wake_fd : -1, .events = POLLIN } };

  for (;;)
    {
      int timeout = -1;
      int ret;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return -1;

      if (deadline >= 0)
        timeout = (int)MAX (0, (deadline - g_get_monotonic_time () + 999) / 1000);
      if (cancellable != NULL && wake_fd < 0 && (timeout < 0 || timeout > POLL_SLICE_MSEC))
        timeout = POLL_SLICE_MSEC;
      if (pid_fd < 0 && pid > 0)
        {
          if (tw_wire_pid_exited (pid))
            return 2;
          if (timeout < 0 || timeout > PID_SLICE_MSEC)
            timeout = PID_SLICE_MSEC;
        }

      ret = poll (fds, G_N_ELEMENTS (fds), timeout);
      if (ret < 0 && errno == EINTR)
        continue;
      if (ret < 0 || fds[0].revents != 0)
        return 1;
      if (fds[1].revents != 0)
        return 2;
      if (fds[2].revents != 0)
        {
          guint64 count;
          G_GNUC_UNUSED gssize n = read (wake_fd, &count, sizeof count);
        }
      else if (deadline >= 0 && g_get_monotonic_time () >= deadline)
        return g_cancellable_set_error_if_cancelled (cancellable, error) ? -1 : 0;
    }
}

/* How many bytes the frame being read still lacks, once its length is
 * known; 0 before. */
static gsize
tw_wire_missing (TwWireReader *reader)
{
  gsize available = reader->buffer->len - reader->offset;
  gsize total;
  guint32 length;

  if (available < 4)
    return 0;

  memcpy (&length, reader->buffer->data + reader->offset, 4);
  total = 4 + (gsize)MIN (GUINT32_FROM_LE (length), TW_WIRE_MAX_FRAME) + reader->newline;

  return total > available ? total - available : 0;
}

/*
 * tw_wire_reader_read:
 *
 * Reads once from the reader's fd, straight into its buffer: the unread
 * bytes move to its start first, so that a large frame ends up aligned
 * and whole in one allocation, which tw_wire_take() hands over as it is.
 * The room asked for grows with what the frame lacks, but never past
 * twice what came of it already: a length alone allocates nothing.
 * Returns what read() returned, with errno set.
 */
gssize
tw_wire_reader_read (TwWireReader *reader)
{
  GByteArray *buffer = reader->buffer;
  gsize unread = buffer->len - reader->offset;
  gsize room = MAX (READ_SIZE, MIN (tw_wire_missing (reader), unread));
  gsize start = LEAD + unread;
  int saved_errno;
  gssize n;

  if (reader->offset > LEAD)
    {
      memmove (buffer->data + LEAD, buffer->data + reader->offset, unread);
      reader->offset = LEAD;
    }
  g_byte_array_set_size (buffer, start + room);

  do
    n = read (reader->fd, buffer->data + start, room);
  while (n < 0 && errno == EINTR);

  saved_errno = errno;
  g_byte_array_set_size (buffer, start + MAX (n, 0));
  errno = saved_errno;

  return n;
}

/* Reads what is there, waiting first only if nothing is: the parent's
 * ends are non-blocking, so a busy pipe costs no poll() per read. With
 * reader->poll_first, the caller expects nothing yet, and the read that
 * would fail is skipped. */
static gboolean
tw_wire_fill (TwWireReader  *reader,
              GCancellable  *cancellable,
              gint64         deadline,
              GError       **error)
{
  gboolean peer_gone = FALSE;
  gboolean skip_read = reader->poll_first;
  gssize n = -1;

  for (;;)
    {
      int ready;

      if (!skip_read)
        {
          n = tw_wire_reader_read (reader);
          if (n >= 0 || errno != EAGAIN)
            break;
        }
      skip_read = FALSE;

      /* About to wait for the rest of a frame: a relay may keep it back
       * until what it passed on is answered; once a frame is enough, as
       * it then passes on all it kept. A read that only looks (a
       * deadline of 0) leaves answering to its caller. */
      if (reader->nudge_fd >= 0 && reader->unanswered && !reader->nudged &&
          deadline != 0 && reader->buffer->len > reader->offset)
        {
          tw_wire_nudge (reader->nudge_fd, FALSE);
          reader->unanswered = FALSE;
          reader->nudged = TRUE;
        }

      if (peer_gone)
        {
          /* It died, and what it wrote before is read: a descendant that
           * holds the pipe open must not hide its end. */
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                               "The worker process exited");
          return FALSE;
        }

      ready = tw_wire_poll (reader->fd, POLLIN, reader->pid_fd, reader->pid, reader->wake_fd,
                            cancellable, deadline, error);
      if (ready < 0)
        return FALSE;
      if (ready == 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                               "Timed out waiting for the worker process");
          return FALSE;
        }
      peer_gone = ready == 2;
    }

  if (n < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Reading from the worker process failed: %s", g_strerror (saved_errno));
      return FALSE;
    }

  if (n == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                           "The worker process closed the connection");
      return FALSE;
    }

  reader->unanswered = TRUE;

  return TRUE;
}

/* The size of a value of the fixed-size type at *type, moving *type past
 * it, if every value of that type is in normal form; 0 otherwise. That
 * holds for the integers and doubles, and for tuples of them with no
 * padding, which must be zeros; not for booleans (0 or 1 only), nor for
 * the unit tuple (one zero byte). Handles are left to GLib. */
static gsize
tw_wire_plain_size (const char **type,
                    gsize       *alignment)
{
  gsize size = 0;
  gsize member_alignment;
  gsize member_size;

  *alignment = 1;
  switch (*(*type)++)
    {
    case 'y': return 1;
    case 'n': case 'q': *alignment = 2; return 2;
    case 'i': case 'u': *alignment = 4; return 4;
    case 'x': case 't': case 'd': *alignment = 8; return 8;
    case '(': break;
    default: return 0;
    }

  while (**type != ')')
    {
      member_size = tw_wire_plain_size (type, &member_alignment);
      if (member_size == 0 || size % member_alignment != 0)
        return 0;
      size += member_size;
      *alignment = MAX (*alignment, member_alignment);
    }
  (*type)++;

  return size % *alignment == 0 ? size : 0;
}

/* Whether the frame @data of @size bytes is in normal form as GLib would
 * find it, without walking its elements: a frame whose payload is an
 * array of a type of tw_wire_plain_size() and a whole number of its
 * elements, with the frame's padding zero. Such are the large frames, a
 * map's chunks and their answers; anything else is left to GLib. */
static gboolean
tw_wire_is_plain_array (const guint8 *data,
                        gsize         size)
{
  char type[32];
  const char *p = type + 1;
  gsize alignment;
  gsize element_size;
  gsize lowest;
  gsize nul;
  gsize i;

  /* (utv): the u, 4 bytes of padding, the t, then the v: its value, a
   * nul byte and the value's type string, at most 31 bytes here. */
  if (size < 16 + 3 || memcmp (data + 4, "\0\0\0\0", 4) != 0)
    return FALSE;
  lowest = size - MIN (size - 16, sizeof type);
  for (nul = size - 1; nul > lowest && data[nul] != '\0'; nul--)
    ;
  if (data[nul] != '\0' || size - nul - 1 >= sizeof type)
    return FALSE;

  memcpy (type, data + nul + 1, size - nul - 1);
  type[size - nul - 1] = '\0';
  for (i = 0; type[i] != '\0'; i++)
    if (strchr ("a()ynqiuxtd", type[i]) == NULL)
      return FALSE;
  if (type[0] != 'a' || !g_variant_type_string_is_valid (type))
    return FALSE;

  element_size = tw_wire_plain_size (&p, &alignment);

  return element_size > 0 && *p == '\0' && (nul - 16) % element_size == 0;
}

static gboolean
tw_wire_parse (GBytes        *bytes,
               TwWireFrame   *frame,
               GError       **error)
{
  g_autoptr(GVariant) variant = NULL;
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  gboolean plain = tw_wire_is_plain_array (data, size);
  guint32 kind;

  variant = g_variant_new_from_bytes (G_VARIANT_TYPE (TW_WIRE_FRAME_TYPE), bytes, plain);
  if (!plain && !g_variant_is_normal_form (variant))
    {
      g_set_error_literal (error, TW_ERROR, TW_ERROR_PROTOCOL,
                           "The worker process sent a frame that is not a valid "
                           TW_WIRE_FRAME_TYPE " value in normal form");
      return FALSE;
    }

  g_variant_get (variant, "(utv)", &kind, &frame->id, &frame->payload);
  frame->kind = kind;

  return TRUE;
}

/* Consumes the frame of @length bytes at the reader's offset and returns
 * its body: a large one, aligned by tw_wire_reader_read(), in the buffer
 * it was read into, which the bytes after it leave for a new one. */
static GBytes *
tw_wire_take_bytes (TwWireReader *reader,
                    gsize         length)
{
  GByteArray *buffer = reader->buffer;
  gsize start = reader->offset + 4;
  gsize end = start + length + reader->newline;
  guint8 *data;

  reader->offset = end;
  if (length < TAKE_MIN || ((guintptr)(buffer->data + start) & 7) != 0)
    return g_bytes_new (buffer->data + start, length);

  reader->buffer = g_byte_array_sized_new (LEAD + READ_SIZE);
  g_byte_array_set_size (reader->buffer, LEAD);
  g_byte_array_append (reader->buffer, buffer->data + end, buffer->len - end);
  reader->offset = LEAD;

  /* Give back the room the frame did not use; malloc keeps the start
   * aligned if this moves it. */
  data = g_realloc (g_byte_array_free (buffer, FALSE), end);

  return g_bytes_new_with_free_func (data + start, length, g_free, data);
}

/*
 * tw_wire_take:
 *
 * Takes one frame from the bytes @reader holds, without reading. Returns
 * %TRUE with @frame set; %FALSE with @error set for a bad frame (see
 * tw_wire_read()), which is consumed; %FALSE with @error unset when the
 * frame is not all there yet.
 */
gboolean
tw_wire_take (TwWireReader  *reader,
              TwWireFrame   *frame,
              GError       **error)
{
  g_autoptr(GBytes) bytes = NULL;
  gsize available = reader->buffer->len - reader->offset;
  guint32 length;

  memset (frame, 0, sizeof *frame);

  if (available < 4)
    return FALSE;

  memcpy (&length, reader->buffer->data + reader->offset, 4);
  length = GUINT32_FROM_LE (length);

  if (length > TW_WIRE_MAX_FRAME)
    {
      g_set_error (error, TW_ERROR, TW_ERROR_PROTOCOL,
                   "The worker process sent a frame of %u bytes, over the "
                   "limit of %" G_GSIZE_FORMAT, length, TW_WIRE_MAX_FRAME);
      return FALSE;
    }

  if (available < 4 + (gsize)length + reader->newline)
    return FALSE;

  if (reader->newline && reader->buffer->data[reader->offset + 4 + length] != '\n')
    {
      g_set_error_literal (error, TW_ERROR, TW_ERROR_PROTOCOL,
                           "The worker process sent a frame that does not end its line");
      return FALSE;
    }

  reader->nudged = FALSE;
  bytes = tw_wire_take_bytes (reader, length);

  return tw_wire_parse (bytes, frame, error);
}

/*
 * tw_wire_read:
 * @deadline: monotonic time to give up at, or -1
 *
 * Reads one frame. Fails with %TW_ERROR_PROTOCOL for a frame over
 * %TW_WIRE_MAX_FRAME or not in normal form, %G_IO_ERROR_CONNECTION_CLOSED
 * at end of file, %G_IO_ERROR_TIMED_OUT after @deadline and
 * %G_IO_ERROR_CANCELLED when @cancellable fires; the reader keeps a
 * partial frame, so reading can go on after a timeout or cancellation.
 */
gboolean
tw_wire_read (TwWireReader  *reader,
              GCancellable  *cancellable,
              gint64         deadline,
              TwWireFrame   *frame,
              GError       **error)
{
  GError *local_error = NULL;

  while (!tw_wire_take (reader, frame, &local_error))
    {
      if (local_error != NULL)
        {
          g_propagate_error (error, local_error);
          return FALSE;
        }
      if (!tw_wire_fill (reader, cancellable, deadline, error))
        return FALSE;
    }

  return TRUE;
}

/* A write to a dead peer raised SIGPIPE, blocked in this thread: it
 * must not be delivered once unblocked. */
static void
tw_wire_discard_sigpipe (void)
{
  sigset_t pipe_set;
  struct timespec zero = { 0, 0 };

  sigemptyset (&pipe_set);
  sigaddset (&pipe_set, SIGPIPE);
  while (sigtimedwait (&pipe_set, NULL, &zero) == SIGPIPE)
    ;
}

/* Writes all of @data. SIGPIPE is blocked in the threads that write to
 * worker processes, so a dead peer gives EPIPE, whose pending signal is
 * then discarded. */
static gboolean
tw_wire_write_all (int            fd,
                   const guint8  *data,
                   gsize          size,
                   int            pid_fd,
                   gsize         *written,
                   GError       **error)
{
  *written = 0;
  while (size > 0)
    {
      gssize n;

      do
        n = write (fd, data, size);
      while (n < 0 && errno == EINTR);

      /* A full pipe: wait for room, or for the reader's death. */
      if (n < 0 && errno == EAGAIN)
        {
          if (tw_wire_poll (fd, POLLOUT, pid_fd, 0, -1, NULL, -1, NULL) == 2)
            {
              g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                   "The worker process exited");
              return FALSE;
            }
          continue;
        }

      if (n < 0)
        {
          int saved_errno = errno;

          if (saved_errno == EPIPE)
            tw_wire_discard_sigpipe ();

          g_set_error (error, G_IO_ERROR,
                       saved_errno == EPIPE ? G_IO_ERROR_CONNECTION_CLOSED
                                            : g_io_error_from_errno (saved_errno),
                       "Writing to the worker process failed: %s", g_strerror (saved_errno));
          return FALSE;
        }

      data += n;
      size -= n;
      *written += n;
    }

  return TRUE;
}

/*
 * tw_wire_nudge:
 *
 * Writes a NOP frame to @fd, if there is room, for a peer behind a relay
 * that keeps small messages back until the last is acknowledged (Nagle's
 * algorithm): srun and slurmstepd do, and their peer acknowledges only
 * with data or after 40 ms. A side that read bytes and now waits for more
 * sends one, which carries the acknowledgement back. The peer ignores it.
 */
void
tw_wire_nudge (int      fd,
               gboolean newline)
{
  g_autoptr(GByteArray) out = g_byte_array_sized_new (32);
  gssize n;

  tw_wire_append (out, TW_WIRE_NOP, 0, g_variant_new ("()"), NULL);
  if (newline)
    tw_wire_end_line (out);

  /* Less than PIPE_BUF: all of it or nothing. A full pipe needs no nudge. */
  do
    n = write (fd, out->data, out->len);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EPIPE)
    tw_wire_discard_sigpipe ();
}

/*
 * tw_wire_append:
 *
 * Adds one frame to @out, to be sent with others in one write.
 */
gboolean
tw_wire_append (GByteArray  *out,
                TwWireKind   kind,
                guint64      id,
                GVariant    *payload,
                GError     **error)
{
  g_autoptr(GVariant) frame = NULL;
  g_autoptr(GVariant) normal = NULL;
  gsize size;
  gsize start;
  guint32 length;

  /* The peer accepts normal form only. A value made from untrusted bytes
   * may not be; one that GLib built or checked is, at no cost. */
  if (!g_variant_is_normal_form (payload))
    {
      normal = g_variant_get_normal_form (payload);
      /* Consume a floating payload, as g_variant_new_variant() would. */
      g_variant_unref (g_variant_ref_sink (payload));
      payload = normal;
    }

  frame = g_variant_ref_sink (g_variant_new ("(ut@v)", (guint32)kind, id,
                                             g_variant_new_variant (payload)));
  size = g_variant_get_size (frame);

  if (size > TW_WIRE_MAX_FRAME)
    {
      g_set_error (error, TW_ERROR, TW_ERROR_UNSERIALIZABLE,
                   "A value of %" G_GSIZE_FORMAT " bytes is over the frame limit of %"
                   G_GSIZE_FORMAT, size, TW_WIRE_MAX_FRAME);
      return FALSE;
    }

  /* g_variant_store() wants an aligned destination: pad the frame's start
   * so that its body, 4 bytes in, lands on 8 bytes; the padding is
   * removed again below. */
  start = out->len;
  g_byte_array_set_size (out, start + 12 + size);
  {
    guint8 *data = out->data + start;
    gsize pad = (8 - ((guintptr)(data + 4) & 7)) & 7;

    g_variant_store (frame, data + 4 + pad);
    if (pad != 0)
      memmove (data + 4, data + 4 + pad, size);
  }
  length = GUINT32_TO_LE ((guint32)size);
  memcpy (out->data + start, &length, 4);
  g_byte_array_set_size (out, start + 4 + size);

  return TRUE;
}

/*
 * tw_wire_end_line:
 *
 * Ends the last frame in @out with a newline. A worker that speaks over
 * its stdout does this, as some launchers pass a task's output on only
 * line by line: slurmstepd holds everything back until a newline.
 */
void
tw_wire_end_line (GByteArray *out)
{
  g_byte_array_append (out, (const guint8 *)"\n", 1);
}

/* Writes all of @out and empties it; on failure, what was not written
 * stays in @out. */
gboolean
tw_wire_flush (int            fd,
               GByteArray    *out,
               int            pid_fd,
               GError       **error)
{
  gsize written;
  gboolean ret = tw_wire_write_all (fd, out->data, out->len, pid_fd, &written, error);

  g_byte_array_remove_range (out, 0, written);

  return ret;
}

gboolean
tw_wire_write (int            fd,
               TwWireKind     kind,
               guint64        id,
               GVariant      *payload,
               int            pid_fd,
               GError       **error)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  return tw_wire_append (out, kind, id, payload, error) &&
         tw_wire_flush (fd, out, pid_fd, error);
}

GVariant *
tw_wire_error_to_variant (const GError *error)
{
  return g_variant_new ("(sis)", g_quark_to_string (error->domain), error->code,
                        error->message);
}

/* Error domains that workers may add to the quark table, which never
 * shrinks: a hostile worker must not grow it without bound. */
#define MAX_NEW_DOMAINS 64

static gint n_new_domains;  /* atomic */

/* The quark of a worker's error domain: one we know, or a new one while
 * there is room; 0 past that. */
static GQuark
tw_wire_error_domain (const char *domain)
{
  GQuark quark = g_quark_try_string (domain);

  if (quark != 0)
    return quark;

  if (g_atomic_int_get (&n_new_domains) >= MAX_NEW_DOMAINS ||
      g_atomic_int_add (&n_new_domains, 1) >= MAX_NEW_DOMAINS)
    return 0;

  return g_quark_from_string (domain);
}

/* Rebuilds a GError from an untrusted (sis); NULL if it is not one. An
 * error whose domain is empty, too long or one too many becomes a
 * %TW_ERROR_FAILED that names it. */
GError *
tw_wire_error_from_variant (GVariant *variant)
{
  const char *domain;
  const char *message;
  gint32 code;
  GQuark quark = 0;
  gsize length;

  if (!g_variant_is_of_type (variant, G_VARIANT_TYPE ("(sis)")))
    return NULL;

  g_variant_get (variant, "(&si&s)", &domain, &code, &message);
  length = strlen (domain);
  if (length > 0 && length <= 256)
    quark = tw_wire_error_domain (domain);

  if (quark != 0)
    return g_error_new_literal (quark, code, message);

  if (length == 0)
    return g_error_new (TW_ERROR, TW_ERROR_FAILED,
                        "The worker process sent an error with no domain (code %d): %s",
                        code, message);

  return g_error_new (TW_ERROR, TW_ERROR_FAILED,
                      "The worker process sent an error of domain “%.256s” code %d: %s",
                      domain, code, message);
}

/* The depth of @value, as GLib counts it, when it sits @level levels
 * deep; the walk stops past TW_WIRE_MAX_DEPTH, or at the first file
 * descriptor handle if @handle is not NULL, setting it. Only values of a
 * type with variants in it are walked: only variants can hide a handle
 * or more depth behind their type string. */
static guint
tw_wire_depth (GVariant *value,
               guint     level,
               gboolean *handle)
{
  const char *type = g_variant_get_type_string (value);
  guint depth = 0;
  guint child_depth;
  guint nesting = 0;
  GVariantIter iter;
  GVariant *child;

  for (const char *p = type; *p != '\0'; p++)
    {
      if (*p == 'a' || *p == 'm' || *p == '(' || *p == '{')
        nesting++;
      else if (*p == ')' || *p == '}')
        nesting--;
      else if (*p == 'h' && handle != NULL)
        *handle = TRUE;
      depth = MAX (depth, nesting);
    }
  depth += level + 1;

  if (depth > TW_WIRE_MAX_DEPTH || (handle != NULL && *handle) || strchr (type, 'v') == NULL)
    return depth;

  g_variant_iter_init (&iter, value);
  while (depth <= TW_WIRE_MAX_DEPTH && (handle == NULL || !*handle) &&
         (child = g_variant_iter_next_value (&iter)) != NULL)
    {
      child_depth = tw_wire_depth (child, level + 1, handle);
      depth = MAX (depth, child_depth);
      g_variant_unref (child);
    }

  return depth;
}

static gboolean
tw_wire_depth_error (GVariant  *value,
                     GError   **error)
{
  g_set_error (error, TW_ERROR, TW_ERROR_UNSERIALIZABLE,
               "A value of type “%.64s” is nested more than %d levels deep, "
               "the limit of values a troupe takes", g_variant_get_type_string (value),
               TW_WIRE_MAX_DEPTH);
  return FALSE;
}

/*
 * tw_wire_check_depth:
 *
 * Refuses a value nested deeper than a worker process can read, in both
 * modes, so that a troupe accepts the same values whatever its mode.
 */
gboolean
tw_wire_check_depth (GVariant  *value,
                     GError   **error)
{
  return tw_wire_depth (value, 0, NULL) <= TW_WIRE_MAX_DEPTH ||
         tw_wire_depth_error (value, error);
}

/* A value crosses a process boundary unless it holds file descriptor
 * handles, which mean nothing in another process, is nested too deep
 * (see tw_wire_check_depth()) or is too large. */
gboolean
tw_wire_check_value (GVariant  *value,
                     GError   **error)
{
  const char *type = g_variant_get_type_string (value);
  gboolean handle = FALSE;
  guint depth;

  /* A basic value other than a handle, such as each output of a map,
   * needs no walk. */
  if (type[1] == '\0' && type[0] != 'h' && type[0] != 'v' &&
      g_variant_get_size (value) <= TW_WIRE_MAX_FRAME - 64)
    return TRUE;

  depth = tw_wire_depth (value, 0, &handle);

  if (handle)
    {
      g_set_error (error, TW_ERROR, TW_ERROR_UNSERIALIZABLE,
                   "A value of type “%.64s” holds file descriptor handles (h), "
                   "which cannot cross a process boundary", g_variant_get_type_string (value));
      return FALSE;
    }

  if (depth > TW_WIRE_MAX_DEPTH)
    return tw_wire_depth_error (value, error);

  if (g_variant_get_size (value) > TW_WIRE_MAX_FRAME - 64)
    {
      g_set_error (error, TW_ERROR, TW_ERROR_UNSERIALIZABLE,
                   "A value of %" G_GSIZE_FORMAT " bytes is over the frame limit of %"
                   G_GSIZE_FORMAT, g_variant_get_size (value), TW_WIRE_MAX_FRAME);
      return FALSE;
    }

  return TRUE;
}
