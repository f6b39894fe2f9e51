#!/usr/bin/env bash
# check-docs.sh DOC-BUILD-DIR MODULE MAIN-XML
#
# Fails if the API reference has undocumented or incomplete symbols,
# unused or undeclared documentation (gtkdoc-check), or if a gtk-doc tool
# printed a warning while building it (gtkdoc-*.log, see gtkdoc-log.in).
#
# Two kinds of warning are only shown, not fatal:
# - "Property T:p has no documentation": gtk-doc 1.33 says this of every
#   property with a NULL blurb, which STYLE.md asks for; a property that
#   really lacks a doc comment is still counted by gtkdoc-check.
# - "no link for" a symbol of another module: whether it resolves depends
#   on the -doc packages installed (libglib2.0-doc, see scripts/deps), not
#   on our sources. Unresolved links to tiny-worker's own symbols fail.

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

blurb='warning: Property [A-Za-z0-9_]+:[a-z0-9-]+ has no documentation\.$'
foreign_link='warning: no link for: "([^tT]|[tT][^wW]|[tT][wW][^-_A-Z])'

warnings=$(grep -hiE 'warning|error' "${logs[@]}" || true)
fatal=$(printf '%s\n' "$warnings" | grep -vE "$blurb|$foreign_link" | grep . || true)
ignored=$(printf '%s\n' "$warnings" | grep -cE "$blurb|$foreign_link" || true)

if [ "$ignored" -gt 0 ]; then
  echo "$ignored non-fatal gtk-doc warnings (NULL property blurbs, links to other modules):"
  printf '%s\n' "$warnings" | grep -E "$blurb|$foreign_link"
fi
if [ -n "$fatal" ]; then
  printf '%s\n' "$fatal"
  echo "gtk-doc printed the warnings above" >&2
  status=1
fi

exit "$status"
