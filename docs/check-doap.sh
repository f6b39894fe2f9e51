#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-doap.sh XMLLINT DOAP-FILE
#
# Fails unless DOAP-FILE is well-formed XML that carries the fields GNOME
# tooling reads: name, shortdesc, description, license, programming
# language and a maintainer. A repository is optional: there is none to
# name until the project is published.

set -eu

xmllint=$1
doap=$2

"$xmllint" --noout "$doap"

doap_ns=http://usefulinc.com/ns/doap#
foaf_ns=http://xmlns.com/foaf/0.1/
project="//*[local-name()='Project' and namespace-uri()='$doap_ns']"

count () {
  "$xmllint" --xpath "count($1)" "$doap"
}

status=0
for field in name shortdesc description license programming-language maintainer; do
  if [ "$(count "$project/*[local-name()='$field' and namespace-uri()='$doap_ns']")" -lt 1 ]; then
    echo "$doap: the doap:Project has no doap:$field" >&2
    status=1
  fi
done

person="$project/*[local-name()='maintainer']/*[local-name()='Person' and namespace-uri()='$foaf_ns']"
if [ "$(count "$person/*[local-name()='name' and namespace-uri()='$foaf_ns']")" -lt 1 ]; then
  echo "$doap: no doap:maintainer is a foaf:Person with a foaf:name" >&2
  status=1
fi

[ "$status" -eq 0 ] && echo "$doap: ok"
exit "$status"
