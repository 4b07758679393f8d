#!/usr/bin/env bash
# Two builds of the service side by side, in one interleaved run: the same requests, the same
# moments of a shared machine. Used for the Node 20 -> 24 move (BENCHMARKS.md "Node.js 20 -> 24"):
#
#   bench/compare-builds.sh A_DIR A_NODE B_DIR B_NODE [ROUNDS]
#
# Each DIR is a checkout with `npm ci` done (dist/ built); each NODE the node binary to run it on.
# Both start as `npm start` does (same flags), on their own SQLite file, rate limiting off, seeded
# with the same 201 configs; then each round takes turns: GET one config, GET a page of 50, PUT a
# new version (wrk, 1 thread, 10 connections, 4 s each). Prints req/s per round and the paired
# B/A ratios' medians. wrk comes from Debian's package (as for npm run bench).
set -euo pipefail
(( $# >= 4 )) || { sed -n 2,12p "$0" >&2; exit 2; }
a_dir=$1 a_node=$2 b_dir=$3 b_node=$4 rounds=${5:-8}
work=$(mktemp -d)
trap 'kill -TERM "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT
cat > "$work/put.lua" <<'LUA'
wrk.method = "PUT"
wrk.headers["content-type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  local body = '{"config":{"observed_to_quantized_custom_module_class":{"static":{"torch.ao.nn.quantizable.LSTM":"torch.ao.nn.quantized.LSTM"}},"preserved_attributes":["attr1"]},"description":"bench ' .. counter .. '","labels":{"team":"vision"}}'
  return wrk.format(nil, "/v1/configs/w-" .. (counter % 50), nil, body)
end
LUA
pids=()
ports=(18201 18202)
start() { # dir node port data
  mkdir -p "$4"
  (cd "$1" && PORT=$3 DATABASE_URL="file:$4/registry.db" LOG_LEVEL=warn RATE_LIMIT_MAX=0 \
    exec "$2" --max-semi-space-size=8 --max-old-space-size=192 dist/main.js) >"$4/log" 2>&1 &
  pids+=($!)
}
start "$a_dir" "$a_node" "${ports[0]}" "$work/a"
start "$b_dir" "$b_node" "${ports[1]}" "$work/b"
for port in "${ports[@]}"; do
  for _ in $(seq 100); do curl -sf "localhost:$port/healthz" >/dev/null && break; sleep 0.2; done
  curl -sf -o /dev/null -X PUT "localhost:$port/v1/configs/resnet50-int8" -H 'content-type: application/json' \
    -d '{"config":{"observed_to_quantized_custom_module_class":{"static":{"torch.ao.nn.quantizable.LSTM":"torch.ao.nn.quantized.LSTM"}},"preserved_attributes":["attr1"]},"labels":{"team":"vision"}}'
  for i in $(seq 200); do
    curl -sf -o /dev/null -X PUT "localhost:$port/v1/configs/c-$i" -H 'content-type: application/json' -d '{"config":{},"labels":{"team":"vision"}}'
  done
done
rate() { wrk -t1 -c10 -d4s "$@" | awk '/Requests\/sec/{print $2}'; }
: > "$work/rounds"
for round in $(seq "$rounds"); do
  for side in 0 1; do
    base="http://127.0.0.1:${ports[$side]}"
    get=$(rate "$base/v1/configs/resnet50-int8")
    list=$(rate "$base/v1/configs?limit=50")
    put=$(rate -s "$work/put.lua" "$base")
    echo "round $round $([[ $side == 0 ]] && echo A || echo B) get=$get list=$list put=$put load=$(cut -d' ' -f1 /proc/loadavg)"
    echo "$round $side $get $list $put" >> "$work/rounds"
  done
done
for port in "${ports[@]}"; do
  curl -sf "localhost:$port/v1/configs/resnet50-int8" -o /dev/null || { echo "error: the server on $port stopped answering" >&2; exit 1; }
done
echo "RSS after the run: A $(ps -o rss= -p "${pids[0]}") KiB, B $(ps -o rss= -p "${pids[1]}") KiB"
awk '{ v[$1, $2, 3] = $3; v[$1, $2, 4] = $4; v[$1, $2, 5] = $5; if ($1 > n) n = $1 }
  function median(a, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
  END { split("get list put", names, " ")
    for (c = 3; c <= 5; c++) { for (r = 1; r <= n; r++) ratio[r] = v[r, 1, c] / v[r, 0, c]
      printf "B/A %s: median of %d paired rounds %.2f\n", names[c - 2], n, median(ratio, n) } }' "$work/rounds"
