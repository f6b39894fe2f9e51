/* sandboxed.c: workers in a bubblewrap sandbox, where a write outside
 * the sandbox fails that task and the others go on
 *
 * Each worker process starts through `bwrap`, which shows it the whole
 * filesystem read-only, with a private /tmp and no network. The task that
 * tries to write into the current directory fails with the worker's own
 * "Read-only file system" error; the tasks that write to /tmp succeed,
 * in the same worker, and nothing they write outlives the sandbox.
 *
 * Needs bwrap (Debian package bubblewrap). Run it as ./sandboxed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <tiny-worker.h>

/* Writes a short note to the path it is given; returns its size. */
static GVariant *
write_note (GVariant      *input,
            GCancellable  *cancellable,
            gpointer       user_data,
            GError       **error)
{
  const char *path = g_variant_get_string (input, NULL);
  static const char note[] = "written in the sandbox\n";
  int fd;

  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write (fd, note, strlen (note)) < 0)
    {
      int saved_errno = errno;

      if (fd >= 0)
        close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Cannot write %s: %s", path, g_strerror (saved_errno));
      return NULL;
    }

  close (fd);

  return g_variant_new_uint64 (strlen (note));
}

int
main (int   argc,
      char *argv[])
{
  /* The whole filesystem read-only, a private /dev, /proc and /tmp, no
   * network, no view of other processes; the worker dies with us. */
  const char *launcher[] = {
    "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
    "--tmpfs", "/tmp", "--unshare-net", "--unshare-pid", "--new-session",
    "--die-with-parent", "--", NULL
  };
  const char *paths[] = { "/tmp/note-1.txt", "escaped.txt", "/tmp/note-2.txt", "/tmp/note-3.txt" };
  g_autoptr(TwTroupe) troupe = NULL;
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *bwrap = NULL;

  tw_register_func ("write-note", write_note, NULL, NULL);
  tw_init ();

  bwrap = g_find_program_in_path ("bwrap");
  if (bwrap == NULL)
    {
      g_printerr ("This example needs bwrap (Debian package bubblewrap)\n");
      return EXIT_FAILURE;
    }

  troupe = tw_troupe_new_for_func_name ("write-note");
  tw_troupe_set_mode (troupe, TW_TROUPE_MODE_PROCESS);
  tw_troupe_set_n_workers (troupe, 1);
  tw_troupe_set_launcher (troupe, launcher);

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    g_ptr_array_add (futures, tw_troupe_submit (troupe, g_variant_new_string (paths[i])));

  /* One failed task does not stop the others. */
  for (guint i = 0; i < futures->len; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = tw_future_wait (futures->pdata[i], -1, &error);

      if (value != NULL)
        g_print ("%s: wrote %" G_GUINT64_FORMAT " bytes\n", paths[i],
                 g_variant_get_uint64 (value));
      else
        g_print ("%s: failed: %s\n", paths[i], error->message);
    }

  return EXIT_SUCCESS;
}
