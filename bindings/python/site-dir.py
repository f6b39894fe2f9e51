# site-dir.py: where the PyGObject override goes, for meson
#
# Copyright 2026 The tiny-worker developers
#
# SPDX-License-Identifier: LGPL-2.1-or-later

"""Usage: python3 site-dir.py PREFIX TYPELIB_DIR

Prints two lines for the interpreter that runs it:

- the site directory under PREFIX that it searches, if there is one (on
  Debian 12, /usr/local/lib/python3.11/dist-packages for /usr/local and
  /usr/lib/python3/dist-packages for /usr), else the standard
  PREFIX/lib/python3.X/site-packages, which then has to be put on
  PYTHONPATH;
- "yes" if GObject-Introspection finds typelibs in TYPELIB_DIR without
  GI_TYPELIB_PATH, "no" if not, "unknown" without PyGObject.
"""

import os
import site
import sys
import sysconfig


def site_dir(prefix):
    prefix = os.path.normpath(prefix)
    for path in site.getsitepackages() + sys.path[1:]:
        relative = os.path.relpath(os.path.normpath(path), prefix)
        # /usr/local/... is under /usr too, but not what /usr means.
        if relative.split(os.sep)[0] in ('lib', 'lib64') and \
                os.path.basename(path) in ('site-packages', 'dist-packages'):
            return path
    return sysconfig.get_path('purelib', 'posix_prefix',
                              vars={'base': prefix, 'platbase': prefix})


def typelib_dir_searched(typelib_dir):
    os.environ.pop('GI_TYPELIB_PATH', None)
    try:
        import gi
        gi.require_version('GIRepository', '2.0')
        from gi.repository import GIRepository
    except Exception:   # no PyGObject, or another module named gi
        return 'unknown'
    searched = [os.path.normpath(path) for path in GIRepository.Repository.get_search_path()]
    return 'yes' if os.path.normpath(typelib_dir) in searched else 'no'


if __name__ == '__main__':
    print(site_dir(sys.argv[1]))
    print(typelib_dir_searched(sys.argv[2]))
