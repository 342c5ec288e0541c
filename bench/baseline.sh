#!/bin/bash
# The method of the bash service that dehandler replaces, for bench/run to compare against.
# It follows `docker events` and handles one container at a time. For each it runs one
# `docker inspect` for the PID and the labels, then one
# `nsenter -n -t PID sh -c "ip OBJECT SEGMENT"` per segment of the address, route and rule
# labels, and one `sh -c "ip route SEGMENT"` per host-route segment. Label values are split
# on `;` only.
#
# Usage: bench/baseline.sh LABEL_PREFIX SINCE OUTPUT
#   SINCE   the `docker events --since` value, so that no start after it is missed
#   OUTPUT  file that receives `ID START_TIMENANO DONE_NANOS` when a container's last segment
#           is done, DONE_NANOS being bash's EPOCHREALTIME (microseconds) in nanoseconds
#
# Errors of `ip` go to standard error and do not stop the next segment, as in the original.
set -u
prefix=$1 since=$2 output=$3

# Runs `ip OBJECT SEGMENT` for each `;`-separated segment of VALUE, in the network namespace
# of PID, or on the host when PID is `host`.
apply() {
  local pid=$1 object=$2 value=$3 segment
  local -a segments
  IFS=';' read -ra segments <<<"$value"
  for segment in "${segments[@]}"; do
    [ -n "${segment// /}" ] || continue
    if [ "$pid" = host ]; then
      sh -c "ip $object $segment"
    else
      nsenter -n -t "$pid" sh -c "ip $object $segment"
    fi
  done
}

format="{{.State.Pid}}"
for key in address route rule host-route; do
  format+="{{\"\\n\"}}{{index .Config.Labels \"$prefix.$key\"}}"
done

# The loop runs in this shell, not in a pipeline's subshell, so this process's cutime and
# cstime count the CPU time of every command it ran.
while read -r id started; do
  inspect=$(docker inspect --format "$format" "$id") || continue
  {
    read -r pid
    read -r address
    read -r route
    read -r rule
    read -r host_route
  } <<<"$inspect"
  [ -n "$address$route$rule$host_route" ] || continue

  apply "$pid" address "$address"
  apply "$pid" route "$route"
  apply "$pid" rule "$rule"
  apply host route "$host_route"
  now=${EPOCHREALTIME/./}
  echo "$id $started ${now}000" >>"$output"
done < <(docker events --since "$since" --filter type=container --filter event=start \
  --format '{{.Actor.ID}} {{.TimeNano}}')
