#!/bin/sh
# Assembles a Docker plugin directory: config.json and a rootfs that holds the static binary
# and an empty /run/docker/plugins, where the plugin creates its socket.
# Usage: plugin/assemble.sh BINARY CONFIG_JSON OUTPUT_DIR
set -eu
binary=$1 config=$2 out=$3

if ! file "$binary" | grep -Eq 'static(-pie)? linked'; then
  echo "$binary is not statically linked; the plugin rootfs has no libraries" >&2
  exit 1
fi
rm -rf "$out"
mkdir -p "$out/rootfs/run/docker/plugins"
cp "$config" "$out/config.json"
cp "$binary" "$out/rootfs/dehandler"
