#!/bin/sh
# Creates and enables a plugin from a directory, replacing an installed plugin of that name.
# Usage: plugin/replace.sh NAME DIR
set -eu
name=$1 dir=$2

if docker plugin inspect "$name" >/dev/null 2>&1; then
  docker plugin disable --force "$name" >/dev/null 2>&1 || true
  docker plugin rm --force "$name" >/dev/null
fi
docker plugin create "$name" "$dir"
docker plugin enable "$name"
