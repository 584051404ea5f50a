#!/usr/bin/env bash
# reaper.sh PARENT_PID CMD ARGS...: runs CMD and ends it when PARENT_PID goes away, so that test
# processes never outlive a test runner that was killed with SIGKILL (no cleanup hook runs then).
# SIGTERM/SIGINT to the reaper are forwarded to CMD.
parent=$1
shift
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
while kill -0 "$child" 2>/dev/null; do
  if ! kill -0 "$parent" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$child" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$child" 2>/dev/null
    break
  fi
  sleep 1 &
  wait $! 2>/dev/null
done
wait "$child" 2>/dev/null
exit $?
