#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-docs.sh DOC-BUILD-DIR MODULE MAIN-XML
#
# Fails if the API reference has undocumented or incomplete symbols,
# unused or undeclared documentation (gtkdoc-check), or if a gtk-doc tool
# printed any warning while building it (gtkdoc-*.log, see gtkdoc-log.in):
# the reference builds with none.

set -euo pipefail

cd "$1"
module=$2
main_xml=$3
status=0

if ! DOC_MODULE=$module DOC_MAIN_SGML_FILE=$main_xml gtkdoc-check; then
  status=1
  for report in undocumented unused undeclared; do
    if [ -s "$module-$report.txt" ]; then
      echo "--- $module-$report.txt"
      cat "$module-$report.txt"
    fi
  done
  echo "Document every public symbol in tiny-worker/, and list new ones in" \
       "docs/reference/$module-sections.txt (unused: declared but not listed;" \
       "undeclared: listed but not declared)." >&2
fi

shopt -s nullglob
logs=(gtkdoc-*.log)
if [ ${#logs[@]} -eq 0 ]; then
  echo "no gtkdoc-*.log in $PWD: was the reference built?" >&2
  exit 1
fi

warnings=$(grep -hiE 'warning|error' "${logs[@]}" || true)
if [ -n "$warnings" ]; then
  printf '%s\n' "$warnings"
  echo "gtk-doc printed the $(printf '%s\n' "$warnings" | wc -l) warnings above." \
       "A property needs a TwClass:prop-name: doc comment; a link to another" \
       "module needs its -doc package (scripts/deps docs) or plain text." >&2
  status=1
fi

exit "$status"
