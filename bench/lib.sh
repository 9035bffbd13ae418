# Shared helpers of bench/catalogue, bench/search and bench/onsale. Source it
# `set -euo pipefail` and after setting BENCH_NAME (used for file names).
#
# Settings (environment):
#   BENCH_ENGINES   engines to run, in order           (default "sqlite postgres")
#   BENCH_PG_URL    PostgreSQL server to create a fresh database on; must name a
#                   database to connect to for CREATE/DROP DATABASE
#                   (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable)
#   BENCH_REPS      runs per measurement, the median is reported   (default 3)
#   BENCH_DURATION  wrk duration of one run                        (default 10s)
#   BENCH_WARMUP    unmeasured wrk warm-up before the first run of a URL (default 2s)
#   BENCH_THREADS   wrk threads                                    (default 2)
#   BENCH_READY_TIMEOUT  seconds to wait for /readyz               (default 60)

shopt -s inherit_errexit

# The scripts take no arguments (their settings are environment variables);
# -h or --help prints the calling script's header comment, its usage.
if (($#)); then
	if [[ $1 == -h || $1 == --help ]]; then
		sed -n '2,/^set -euo pipefail/{/^#/{s/^# \{0,1\}//;p}}' "$0"
		exit 0
	fi
	echo "$0 takes no arguments; its settings are environment variables: $0 --help, bench/README.md" >&2
	exit 2
fi

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
OUT_DIR=$BENCH_DIR/out
LOG_DIR=$OUT_DIR/$BENCH_NAME-logs
RAW_LOG=$OUT_DIR/$BENCH_NAME-raw.log

BENCH_ENGINES=${BENCH_ENGINES:-sqlite postgres}
BENCH_PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
BENCH_REPS=${BENCH_REPS:-3}
BENCH_DURATION=${BENCH_DURATION:-10s}
BENCH_WARMUP=${BENCH_WARMUP:-2s}
BENCH_THREADS=${BENCH_THREADS:-2}
BENCH_READY_TIMEOUT=${BENCH_READY_TIMEOUT:-60}
WRK_TIMEOUT=${WRK_TIMEOUT:-10s}

SERVER_PIDS=()   # every admit process started and not yet stopped
PG_DBS=()        # every PostgreSQL database created and not yet dropped
SERVER_PID="" SERVER_URL="" SERVER_LOG=""

# Per-measurement results, keyed by a label: space-separated values per run.
declare -A R_RPS=() R_P50=() R_P99=() R_REQS=() R_ERR_STATUS=() R_ERR_SOCK=() R_WARM=()

say() { printf '%s\n' "$*" | tee -a "$RAW_LOG"; }
die() {
	printf '\nFAILED: %s\n' "$*" >&2
	[[ -f $RAW_LOG ]] && printf 'FAILED: %s\n' "$*" >>"$RAW_LOG"
	exit 1
}

# ---------------------------------------------------------------- set-up

bench_init() {
	mkdir -p "$OUT_DIR"
	rm -rf "$LOG_DIR"
	mkdir -p "$LOG_DIR"
	: >"$RAW_LOG"
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/admit-$BENCH_NAME.XXXXXX")
	BIN=$WORK/admit
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
	say "# $BENCH_NAME benchmark, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) cores, $(uname -sr)"
	say "# engines: $BENCH_ENGINES; $BENCH_REPS runs of $BENCH_DURATION per measurement, median reported"
}

cleanup() {
	local rc=$? pid db
	set +e
	trap - EXIT INT TERM
	for pid in "${SERVER_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${SERVER_PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for db in "${PG_DBS[@]}"; do
		pg_admin -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 ||
			echo "warning: could not drop PostgreSQL database $db" >&2
	done
	[[ -n ${WORK:-} ]] && rm -rf "$WORK"
	exit "$rc"
}

# need_tool CMD DEBIAN-PACKAGE: installs the package when CMD is missing.
need_tool() {
	command -v "$1" >/dev/null 2>&1 && return 0
	say "installing $2 (for $1)"
	if [[ $(id -u) == 0 ]]; then
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"; } >>"$RAW_LOG" 2>&1
	else
		{ sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"; } >>"$RAW_LOG" 2>&1
	fi || die "could not install $2; install it and run again"
	command -v "$1" >/dev/null 2>&1 || die "$1 still missing after installing $2"
}

ensure_tools() {
	command -v go >/dev/null 2>&1 || die "go is not on PATH"
	need_tool curl curl
	need_tool wrk wrk
	if [[ " $BENCH_ENGINES " == *" postgres "* ]]; then
		need_tool psql postgresql-client
		pg_admin -c 'SELECT 1' >/dev/null 2>&1 ||
			die "PostgreSQL is not reachable at $BENCH_PG_URL (set BENCH_PG_URL, or BENCH_ENGINES=sqlite to skip it)"
	fi
	for engine in $BENCH_ENGINES; do
		[[ $engine == sqlite || $engine == postgres ]] || die "unknown engine '$engine' in BENCH_ENGINES"
	done
}

build_binary() {
	say "building admit (go build ./cmd/admit)"
	# -buildvcs=auto (overriding a GOFLAGS=-buildvcs=false) records the commit
	# in the binary, for the report header.
	(cd "$ROOT" && go build -buildvcs=auto -o "$BIN" ./cmd/admit) || die "go build failed"
	BUILD_INFO=$(build_info)
	say "  built: $BUILD_INFO"
}

# build_info: the commit the binary was built from, and whether the work tree
# had uncommitted changes (from the Go build info; "unknown" without it).
build_info() {
	go version -m "$BIN" 2>/dev/null | awk '
		$2 ~ /^vcs\.(revision|modified|time)=/ { i = index($2, "="); v[substr($2, 1, i - 1)] = substr($2, i + 1) }
		END {
			r = v["vcs.revision"]
			if (r == "") { print "commit unknown"; exit }
			printf "commit %s (%s)%s\n", substr(r, 1, 12), v["vcs.time"], (v["vcs.modified"] == "true" ? ", work tree modified (changes or untracked files)" : "")
		}'
}

# ---------------------------------------------------------------- PostgreSQL

pg_admin() { PGOPTIONS='-c client_min_messages=warning' psql "$BENCH_PG_URL" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }

# pg_url_for DB: BENCH_PG_URL with its database replaced by DB.
pg_url_for() {
	local base=${BENCH_PG_URL%%\?*} params=""
	[[ $BENCH_PG_URL == *\?* ]] && params="?${BENCH_PG_URL#*\?}"
	printf '%s/%s%s' "${base%/*}" "$1" "$params"
}

# pg_create_db NAME: creates an empty database, dropped again on exit.
pg_create_db() {
	pg_admin -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null
	pg_admin -c "CREATE DATABASE $1" >/dev/null || die "could not create PostgreSQL database $1"
	PG_DBS+=("$1")
}

pg_drop_db() {
	local keep=() db
	pg_admin -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null || die "could not drop PostgreSQL database $1"
	for db in "${PG_DBS[@]}"; do [[ $db == "$1" ]] || keep+=("$db"); done
	PG_DBS=("${keep[@]}")
}

# storage_flags ENGINE NAME: sets STORAGE (array) to the admit flags of a fresh
# store for ENGINE: a new SQLite data dir or a new PostgreSQL database (whose
# name goes in STORAGE_DB; drop_storage removes either).
storage_flags() {
	local engine=$1 name=$2
	case $engine in
	sqlite)
		mkdir -p "$WORK/data-$name"
		STORAGE=(--data-dir "$WORK/data-$name")
		STORAGE_DB=""
		;;
	postgres)
		local db="admit_bench_${BENCH_NAME}_${name}_$$"
		pg_create_db "$db"
		STORAGE_DB=$db
		# The data dir is unused with PostgreSQL; keep it out of the repo.
		STORAGE=(--database-url "$(pg_url_for "$db")" --data-dir "$WORK/unused-$name")
		;;
	esac
}

drop_storage() {
	local engine=$1 name=$2
	case $engine in
	sqlite) rm -rf "$WORK/data-$name" ;;
	postgres) pg_drop_db "$STORAGE_DB" ;;
	esac
}

# ---------------------------------------------------------------- servers

free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 40000))
		# Nothing accepts on it: free (a race with another process is caught
		# by start_server, which retries when the bind fails).
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	die "no free loopback port found"
}

server_failed() {
	echo >&2
	echo "---- last 40 lines of $SERVER_LOG ----" >&2
	tail -n 40 "$SERVER_LOG" >&2 || true
	echo "----" >&2
	die "admit serve $1"
}

# start_server LABEL FLAGS...: starts `admit serve FLAGS` on a free loopback
# port with request logs off and waits for /readyz to answer 200. Sets
# SERVER_PID, SERVER_URL and SERVER_LOG.
start_server() {
	local label=$1 attempt port code deadline
	shift
	SERVER_LOG=$LOG_DIR/server-$label.log
	for attempt in 1 2 3; do
		port=$(free_port)
		"$BIN" serve --addr "127.0.0.1:$port" --log-requests=false "$@" >"$SERVER_LOG" 2>&1 &
		SERVER_PID=$!
		SERVER_PIDS+=("$SERVER_PID")
		SERVER_URL="http://127.0.0.1:$port"
		deadline=$((SECONDS + BENCH_READY_TIMEOUT))
		while :; do
			if ! kill -0 "$SERVER_PID" 2>/dev/null; then
				wait "$SERVER_PID" 2>/dev/null || true
				forget_pid "$SERVER_PID"
				if grep -q 'address already in use' "$SERVER_LOG" && ((attempt < 3)); then
					continue 2 # lost a race for the port: try another
				fi
				server_failed "exited during start-up"
			fi
			code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$SERVER_URL/readyz" || true)
			[[ $code == 200 ]] && break 2
			((SECONDS >= deadline)) && server_failed "did not become ready within ${BENCH_READY_TIMEOUT}s (last /readyz status: ${code:-none})"
			sleep 0.2
		done
	done
	say "  server $label ready at $SERVER_URL (pid $SERVER_PID, log $(rel "$SERVER_LOG"))"
}

forget_pid() {
	local keep=() p
	for p in "${SERVER_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	SERVER_PIDS=("${keep[@]}")
}

# stop_server: SIGTERM (graceful shutdown), SIGKILL after 10 s.
stop_server() {
	[[ -n $SERVER_PID ]] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$SERVER_PID" 2>/dev/null; then
		say "  warning: server did not stop within 10 s of SIGTERM; killing it"
		kill -KILL "$SERVER_PID" 2>/dev/null || true
	fi
	wait "$SERVER_PID" 2>/dev/null || true
	forget_pid "$SERVER_PID"
	SERVER_PID=""
}

server_alive() {
	kill -0 "$SERVER_PID" 2>/dev/null || server_failed "died during the benchmark"
}

rel() { printf '%s' "${1#"$ROOT"/}"; }

# ---------------------------------------------------------------- HTTP checks

# fetch PATH: GETs SERVER_URL/PATH into $WORK/body (headers in $WORK/headers);
# fails unless the status is 200.
fetch() {
	local code
	code=$(curl -sS -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' --max-time 30 "$SERVER_URL$1") ||
		die "GET $1: curl failed"
	if [[ $code != 200 ]]; then
		head -c 600 "$WORK/body" >&2
		echo >&2
		die "GET $1 answered $code, want 200"
	fi
}

header() { sed -n "s/^$1: *//Ip" "$WORK/headers" | tr -d '\r'; }

# count_matches REGEX: occurrences in the last body fetched.
count_matches() { { grep -o "$1" "$WORK/body" || true; } | wc -l; }

# first_city: sets CITY_ID and CITY_NAME from the first item of /api/v1/cities.
first_city() {
	fetch /api/v1/cities
	local item
	item=$({ grep -o '{"id":"[^"]*","name":"[^"]*"' "$WORK/body" || true; } | sed -n 1p)
	[[ -n $item ]] || die "no city in /api/v1/cities: $(head -c 300 "$WORK/body")"
	CITY_ID=$(sed 's/^{"id":"\([^"]*\)".*/\1/' <<<"$item")
	CITY_NAME=$(sed 's/.*"name":"\([^"]*\)"$/\1/' <<<"$item")
}

# check_list PATH: fetches a list of events and fails when it is empty.
check_list() {
	fetch "$1"
	local n
	n=$(count_matches '{"id":"evt_')
	((n > 0)) || die "GET $1 returned no events: $(head -c 300 "$WORK/body")"
	say "  check GET $1: 200, $n events on the first page, $(wc -c <"$WORK/body") bytes, Cache-Control: $(header Cache-Control)"
}

# check_metrics CONTEXT: cross-checks wrk's error count with the server's own
# Prometheus counter of responses by status. /readyz is left out (its 503s
# are this script's polling during start-up). When a wrk run ends, wrk closes
# its connections with requests in flight; the server counts those as 499
# (client closed request), or, in older builds, as 500 logged with "context
# canceled" (or "operation was canceled" while dialling PostgreSQL). Those
# are noted in CANCEL_NOTES, not failures: wrk never waited for them. Any
# other non-200 goes to METRICS_PROBLEMS.
check_metrics() {
	local ctx=$1 lines n499 n500 others cancelled
	fetch /metrics
	lines=$({ grep '^admit_http_requests_total{' "$WORK/body" || true; } |
		{ grep -v 'status="200"' || true; } | { grep -v 'route="GET /readyz"' || true; })
	if [[ -z $lines ]]; then
		say "  server metrics: every response was 200"
		return 0
	fi
	n499=$({ grep 'status="499"' <<<"$lines" || true; } | awk '{ s += $NF } END { print s + 0 }')
	n500=$({ grep 'status="500"' <<<"$lines" || true; } | awk '{ s += $NF } END { print s + 0 }')
	others=$({ grep -vE 'status="(499|500)"' <<<"$lines" || true; })
	cancelled=$({ grep '"msg":"request failed"' "$SERVER_LOG" || true; } | { grep -cE 'context canceled|operation was canceled' || true; })
	if [[ -z $others ]] && ((n500 <= cancelled)); then
		local what=()
		((n499 > 0)) && what+=("$n499 as 499")
		((n500 > 0)) && what+=("$n500 as 500 logged as cancelled")
		say "  server metrics: only 200s, plus $(IFS=,; echo "${what[*]}" | sed 's/,/ and /') (requests in flight"
		say "    when wrk closed its connections at the end of a run; wrk never waited for them)"
		CANCEL_NOTES+=("$ctx: $(IFS=,; echo "${what[*]}" | sed 's/,/ and /')")
		return 0
	fi
	say "  WARNING: the server counted non-200 responses ($cancelled 500s logged as cancelled requests):"
	while IFS= read -r l; do say "    $l"; done <<<"$lines"
	METRICS_PROBLEMS+=("$ctx: $(tr '\n' ';' <<<"$lines")")
}
METRICS_PROBLEMS=()
CANCEL_NOTES=()

# report_notes: the common tail of both reports.
report_notes() {
	local problems=0 p
	for p in "${METRICS_PROBLEMS[@]}"; do
		((problems++)) || true
		echo "PROBLEM: the server counted non-200 responses: $p"
	done
	if ((${#CANCEL_NOTES[@]} > 0)); then
		echo "NOTE: requests abandoned by wrk at the end of runs (client closed the connection), as the"
		echo "      server counted them: $(IFS=';'; echo "${CANCEL_NOTES[*]}" | sed 's/;/; /g')."
		echo "      Expected: not errors (see bench/README.md); a 500 among them would be a server bug."
	fi
	echo "Machine load average (1, 5, 15 min): $LOADAVG_START at start, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
	echo "Raw wrk output: $(rel "$RAW_LOG"); server logs: $(rel "$LOG_DIR")/"
}

# ---------------------------------------------------------------- wrk

# kv LINE KEY: the value of KEY=… in a BENCH line.
kv() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# run_rep KEY PATH CONNECTIONS: one wrk run against SERVER_URL/PATH; appends
# its figures to the R_* arrays under KEY. The first run of a KEY is preceded
# by an unmeasured warm-up.
run_rep() {
	local key=$1 path=$2 conns=$3 url="$SERVER_URL$2" out line
	local threads=$((BENCH_THREADS < conns ? BENCH_THREADS : conns))
	if [[ -z ${R_WARM[$key]:-} && $BENCH_WARMUP != 0 && $BENCH_WARMUP != 0s ]]; then
		wrk -t"$threads" -c"$conns" -d"$BENCH_WARMUP" --timeout "$WRK_TIMEOUT" "$url" >/dev/null 2>&1 || die "wrk warm-up failed on $url"
		R_WARM[$key]=1
	fi
	{
		echo
		echo "### $key: wrk -t$threads -c$conns -d$BENCH_DURATION --timeout $WRK_TIMEOUT --latency -s summary.lua $url"
	} >>"$RAW_LOG"
	out=$(wrk -t"$threads" -c"$conns" -d"$BENCH_DURATION" --timeout "$WRK_TIMEOUT" --latency -s "$BENCH_DIR/summary.lua" "$url" 2>&1) || {
		printf '%s\n' "$out" >&2
		die "wrk failed on $url"
	}
	printf '%s\n' "$out" >>"$RAW_LOG"
	line=$(grep '^BENCH ' <<<"$out") || die "wrk printed no summary for $url (see $(rel "$RAW_LOG"))"
	server_alive
	local reqs rps p50 p99 status sock
	reqs=$(kv "$line" requests) rps=$(kv "$line" rps) p50=$(kv "$line" p50_us) p99=$(kv "$line" p99_us)
	status=$(kv "$line" err_status)
	sock=$(($(kv "$line" err_connect) + $(kv "$line" err_read) + $(kv "$line" err_write) + $(kv "$line" err_timeout)))
	((reqs > 0)) || die "wrk completed no request against $url"
	R_RPS[$key]+="$rps " R_P50[$key]+="$p50 " R_P99[$key]+="$p99 " R_REQS[$key]+="$reqs "
	R_ERR_STATUS[$key]=$((${R_ERR_STATUS[$key]:-0} + status))
	R_ERR_SOCK[$key]=$((${R_ERR_SOCK[$key]:-0} + sock))
	local note=""
	((status > 0)) && note+=", $status NON-2xx/3xx"
	((sock > 0)) && note+=", $sock socket errors/timeouts ($(sed -n 's/^ *Socket errors: //p' <<<"$out"))"
	say "$(printf '  %-26s %10.0f req/s  p50 %8s ms  p99 %8s ms  %9d requests%s' \
		"$key" "$rps" "$(ms "$p50")" "$(ms "$p99")" "$reqs" "$note")"
}

# median VALUES...: the median (mean of the middle two for an even count).
median() {
	printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }

# Medians of KEY: rps, p50 (µs), p99 (µs); errors summed over the runs.
med_rps() { median ${R_RPS[$1]}; }
med_p50() { median ${R_P50[$1]}; }
med_p99() { median ${R_P99[$1]}; }
errors_of() {
	local s=${R_ERR_STATUS[$1]:-0} k=${R_ERR_SOCK[$1]:-0}
	if ((s == 0 && k == 0)); then echo 0; else echo "${s} non-2xx, ${k} socket"; fi
}
# spread KEY: (max - min) / median of the runs' req/s, in percent.
spread() {
	printf '%s\n' ${R_RPS[$1]} | sort -g | awk -v m="$(med_rps "$1")" '
		NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f", (m > 0 ? 100 * (hi - lo) / m : 0) }'
}
# NOISY_SPREAD: a spread above this many percent is flagged as noisy.
NOISY_SPREAD=${BENCH_NOISY_SPREAD:-25}
any_errors() { ((${R_ERR_STATUS[$1]:-0} + ${R_ERR_SOCK[$1]:-0} > 0)); }
