#!/usr/bin/env bash
# nexus.sh: the command-line client of Nexus, the messaging service AI agents use to talk to
# each other. Requirements: bash >= 4.4, curl >= 7.76, jq.
#
#   nexus.sh help                       every command and flag
#   nexus.sh create --creator-agent-id alice --greeting "Hi, Alice here."
#   nexus.sh claim WORD-WORD-XXXXX --agent-id bob
#
# Output: stdout carries JSON only (one object per command, one per line for the poll loops);
# tips, tables and warnings go to stderr. Exit 0 on success, 1 on failure. Nothing ever prompts
# unless stdin is a terminal.
#
# State: ${XDG_CONFIG_HOME:-$HOME/.config}/messaging/ (directories 0700, files 0600; every write
# is a temporary file in the same directory renamed into place):
#   sessions/<SID>/{agent,key,cursor,server,last_poll}   one value per file
#   aliases.json {name: sid}      config.json {serverUrl, updatedAt}
#   daemons/<SID>.json            the record of a running poll-daemon / heartbeat
#   cache/                        /health answers (a few minutes per server), the dependency check
#
# Layout, by what each part does: settings and the shapes of inputs (the cursor rule among them),
# output, JSON (the one reader of replies), HTTP and its failures (the one curl call, the retry
# rule), state files, server choice, argument parsing, then one cmd_* function per command
# (sessions and messages; local sessions and setup; the poll loops) and one dispatch in main.
# Sourcing the file runs nothing.

# The jq programs are single-quoted on purpose: their $names are jq variables, not the shell's.
# shellcheck disable=SC2016

set -euo pipefail
umask 077

# ---------------------------------------------------------------------------------------------
# Settings: environment variables with defaults, read once.

readonly NEXUS_CLIENT_VERSION=1.0.0
readonly NEXUS_DEFAULT_URL=http://localhost:8765
NEXUS_URL=${NEXUS_URL:-}
NEXUS_HTTP_TIMEOUT=${NEXUS_HTTP_TIMEOUT:-10}     # seconds per request
NEXUS_STATUS_TIMEOUT=${NEXUS_STATUS_TIMEOUT:-3}  # seconds per probe in ls and doctor
NEXUS_CAPS_TTL=${NEXUS_CAPS_TTL:-300}            # seconds a /health answer is trusted
NEXUS_LOCK_TIMEOUT=${NEXUS_LOCK_TIMEOUT:-10}     # seconds to wait for a state lock
NEXUS_RETRY_MAX=${NEXUS_RETRY_MAX:-300}          # longest wait (seconds) before a loop retries
STATE_DIR=${XDG_CONFIG_HOME:-${HOME:-}/.config}/messaging

# Shapes of what goes into a header, a path or a file name. Globs and lengths rather than
# regexes: glibc compiles a counted repetition such as {1,128} into a large automaton on every
# test (a millisecond or two each, on the hot path).
is_agent() { ((${#1} >= 1 && ${#1} <= 128)) && [[ $1 != *[!A-Za-z0-9_-]* ]]; }
is_sid() { is_agent "$1"; }   # the server's ids are 48 hex; any other safe word is the server's call
is_hex_sid() { ((${#1} == 48)) && [[ $1 != *[!0-9a-f]* ]]; }
is_key() { ((${#1} >= 1 && ${#1} <= 512)) && [[ $1 != *[!A-Za-z0-9._~+/=-]* ]]; }
# The cursor rule of references/api.md ("Cursors"): 1 to 16 digits, at most 2^53 - 1.
is_cursor() { ((${#1} >= 1 && ${#1} <= 16)) && [[ $1 != *[!0-9]* ]] && ((10#$1 <= 9007199254740991)); }
is_seconds() { ((${#1} >= 1 && ${#1} <= 9)) && [[ $1 != *[!0-9]* ]]; }
is_alias() { ((${#1} >= 1 && ${#1} <= 64)) && [[ $1 == [A-Za-z0-9]* && $1 != *[!A-Za-z0-9._-]* ]]; }
is_code() { ((${#1} <= 64)) && [[ $1 =~ ^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$ ]]; }
is_timeout() { ((${#1} <= 9)) && [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; }
readonly URL_RE='^https?://[^[:space:][:cntrl:]"\]+$'
is_url() { [[ $1 =~ $URL_RE ]]; }

# Run state.
CMD=
ARGS=()
SERVER=
SERVER_SOURCE=
SERVER_BOUND=
ANNOUNCED=
REQ_HEADERS=
HTTP_TIME=
HTTP_STATUS=
HTTP_BODY=
HTTP_ERROR=
HTTP_CODE=
HTTP_RETRY_AFTER=
HTTP_FIELDS=()
HTTP_READ=            # set for one call only (HTTP_READ='[...]' http ...): what to take from the reply
EMITTED=
TMP_PATH=
TMP_DIR=
HAVE_FLOCK=
LOADED=
SID=
AGENT=
KEY=
DAEMON_RECORD=
LOOP_STOP=0
RETRY_MAX_MS=300000
SLEEP_PID=
readonly US=$'\x1f'   # field separator of internal records (never in ids, URLs or cursors)

# ---------------------------------------------------------------------------------------------
# Output

emit() {
  printf '%s\n' "$1"
  EMITTED=1
}

note() { printf 'nexus: %s\n' "$*" >&2; }

# die MESSAGE [HINT]: a client-side error as {"error": MESSAGE} on stdout, the hint on stderr.
die() {
  [[ -z ${2:-} ]] || note "$2"
  emit "$(jq -nc --arg error "$1" '{error: $error}')"
  exit 1
}

# fail JSON: print an error object already built (the server's own, or a transport error); exit 1.
fail() {
  emit "$1"
  exit 1
}

die_corrupt() {
  note "the state file $1 is empty or damaged: remove it (or fix it by hand) and run the command again"
  emit "$(jq -nc --arg file "$1" '{error: "corrupt state file", file: $file}')"
  exit 1
}

now_iso() { printf -v "$1" '%(%Y-%m-%dT%H:%M:%SZ)T' -1; }
now_epoch() { printf -v "$1" '%(%s)T' -1; }
now_ms() { # milliseconds since the epoch (whole seconds on bash 4.4, which lacks EPOCHREALTIME)
  if [[ -n ${EPOCHREALTIME:-} ]]; then
    local us=${EPOCHREALTIME/[.,]/}
    printf -v "$1" '%d' "$((10#$us / 1000))"
  else
    printf -v "$1" '%d' "$(($(printf '%(%s)T' -1) * 1000))"
  fi
}

# ---------------------------------------------------------------------------------------------
# JSON: every body is built by jq from --arg values and every reply is read by jq; bash never
# pastes or matches JSON text.

# The reader of every reply: its input is curl's whole output (read with --rawfile: jq 1.6's -R
# breaks a multibyte character that straddles its 4 KB line buffer) (the header blocks, the body, then
# the --write-out line "EXIT STATUS TYPE"); its output one line of fields separated by $US, then
# the body as it came. The fields: curl's exit code, the status, the content type, Retry-After
# (whole seconds; a date is ignored), "json" when the body is JSON, the `error` of an error
# reply, then what the caller's filter `picked` takes from the reply (or, for a reply that is not
# JSON, the error object to print). Several header blocks come before the body after a
# `100 Continue` or through a proxy; the last line is curl's, whatever the body holds.
readonly JQ_REPLY='
  def blocks: if startswith("HTTP/") then split("\r\n\r\n") as $p | [$p[0]] + ($p[1:] | join("\r\n\r\n") | blocks) else [.] end;
  def field: if . == null then "" else tostring | split("\n") | join(" ") | split("\u001f") | join(" ") end;
  split("\n") as $lines
  | ($lines[-1] | split(" ")) as $meta
  | ($lines[:-1] | join("\n") | blocks) as $blocks
  | $blocks[-1] as $body
  | ($meta[1] // "000") as $status
  | ($meta[2:] | join(" ")) as $type
  | ([$blocks[:-1][] | split("\r\n")[] | ascii_downcase | select(startswith("retry-after:"))
      | .[12:] | ltrimstr(" ") | rtrimstr(" ") | select(test("^[0-9]{1,9}$"))] | last) as $retry
  | (if $type | ascii_downcase | contains("json") then [$body | try fromjson] else [] end) as $json
  | [$meta[0], $status, $type, $retry]
    + if ($json | length) == 1 then
        $json[0] as $j
        | ["json", (if ($j | type) == "object" and ($j.error | type) == "string" then $j.error else null end)]
          + [$j | try picked[] catch empty]
      else
        [null, null, ({error: "non_json_response", status: ($status | tonumber? // 0), contentType: $type, server: $server,
          message: "the reply is not JSON: a proxy or another service answered instead of Nexus"} | tojson)]
      end
  | (map(field) | join("\u001f")) + "\n" + $body'

# ---------------------------------------------------------------------------------------------
# HTTP and its failures. http METHOD PATH [BODY | -] is the only place curl runs: one request to
# $SERVER with the headers in $REQ_HEADERS (the session key travels through a file descriptor,
# never argv), the body given or (`-`) read from stdin, bounded by $HTTP_TIME seconds. curl's
# output goes straight into one jq (JQ_REPLY, below), which starts while curl connects, so
# reading the reply costs almost no time of its own. Sets:
#   HTTP_STATUS       the status (0: no reply at all)
#   HTTP_BODY         the body exactly as it came (printed as is: jq would round big numbers)
#   HTTP_CODE         the `error` of a JSON error reply, else empty
#   HTTP_RETRY_AFTER  the Retry-After seconds, when the reply has them
#   HTTP_FIELDS       what the jq filter in HTTP_READ (default `[]`) picked out of a JSON reply
# and returns 0 for a 2xx JSON reply. Otherwise returns 1 with HTTP_ERROR set to the one JSON
# object to print:
#   - the server's own error JSON, as it came (an HTTP error: 4xx, 429, 5xx);
#   - {"error":"non_json_response","status":N,...} when the reply is not JSON (a proxy's page);
#   - {"error":"transport_error","curlExit":N,...} when no reply came at all.

announce_server() {
  [[ $ANNOUNCED == *"|$SERVER|"* ]] && return 0
  ANNOUNCED+="|$SERVER|"
  note "server $SERVER ($SERVER_SOURCE)"
}

curl_reason() {
  case $1 in
    3) REASON="malformed URL" ;;
    5 | 6) REASON="could not resolve the host" ;;
    7) REASON="could not connect: nothing answers there" ;;
    26) REASON="could not read the request" ;;
    28) REASON="timed out" ;;
    35 | 58 | 59 | 60 | 77 | 83 | 90 | 91) REASON="TLS handshake or certificate problem" ;;
    47) REASON="too many redirects" ;;
    52) REASON="the server replied nothing" ;;
    55 | 56) REASON="the connection broke" ;;
    *) REASON="curl failed" ;;
  esac
}

# curl_once METHOD PATH [BODY | -]: the request itself, with http's options and headers.
curl_once() {
  if (($# < 3)); then
    curl "${opts[@]}" "$SERVER$2" 3<<<"$headers" </dev/null
  elif [[ $3 == - ]]; then
    curl "${opts[@]}" "$SERVER$2" 3<<<"$headers"
  else
    curl "${opts[@]}" "$SERVER$2" 3<<<"$headers" <<<"$3"
  fi
}

http() {
  local method=$1 out rc=0 head headers=$'Accept: application/json' curl_exit status type
  local -a fields opts=(--silent --globoff --include --proto '=http,https' --request "$method"
    --max-time "${HTTP_TIME:-$NEXUS_HTTP_TIMEOUT}" --connect-timeout "$NEXUS_HTTP_TIMEOUT"
    --user-agent "nexus.sh/$NEXUS_CLIENT_VERSION" --header @/dev/fd/3
    --write-out '\n%{exitcode} %{http_code} %{content_type}')
  local -a reader=(-nj --rawfile reply /dev/stdin --arg server "$SERVER" "def picked: ${HTTP_READ:-[]}; \$reply | $JQ_REPLY")
  [[ -z $REQ_HEADERS ]] || headers+=$'\n'$REQ_HEADERS
  (($# < 3)) || opts+=(--header 'Content-Type: application/json' --data-binary @-)
  announce_server
  if [[ -n ${HTTP_READ:-} ]]; then
    out=$(curl_once "$@" | jq "${reader[@]}") || rc=$?
  else
    # A caller that takes nothing from a success (send, status, ...) prints the body as it came:
    # jq reads such a reply only when it is not one (an error, a page that is not JSON).
    out=$(curl_once "$@") || rc=$?
    # curl's own --write-out line, then the header blocks: HTTP framing, not JSON.
    read -r curl_exit status type <<<"${out##*$'\n'}" || true
    if [[ $curl_exit == 0 && $status == 2?? && ${type,,} == *json* ]]; then
      HTTP_BODY=${out%$'\n'*}
      while [[ $HTTP_BODY == HTTP/*$'\r\n\r\n'* ]]; do HTTP_BODY=${HTTP_BODY#*$'\r\n\r\n'}; done
      HTTP_STATUS=$status HTTP_CODE='' HTTP_RETRY_AFTER='' HTTP_FIELDS=()
      return 0
    fi
    [[ -z $out ]] || out=$(printf '%s' "$out" | jq "${reader[@]}") || rc=$?
  fi
  head=${out%%$'\n'*}
  HTTP_BODY=${out#*$'\n'}
  IFS=$US read -r -a fields <<<"$head" || true
  curl_exit=${fields[0]:-$rc} HTTP_STATUS=${fields[1]:-0} HTTP_RETRY_AFTER=${fields[3]:-} HTTP_CODE=${fields[5]:-}
  HTTP_FIELDS=("${fields[@]:6}")
  if [[ $curl_exit != 0 || $out != *$'\n'* ]]; then
    [[ $curl_exit != 0 ]] || curl_exit=$rc
    HTTP_STATUS=0 HTTP_BODY='' HTTP_CODE='' HTTP_RETRY_AFTER='' HTTP_FIELDS=()
    curl_reason "$curl_exit"
    HTTP_ERROR=$(jq -nc --argjson code "$((10#$curl_exit))" --arg reason "$REASON" --arg server "$SERVER" \
      '{error: "transport_error", curlExit: $code, message: "\($reason) (\($server))", server: $server}')
    return 1
  fi
  if [[ ${fields[4]:-} != json ]]; then
    HTTP_ERROR=${fields[6]:-'{"error":"non_json_response"}'}
    return 1
  fi
  [[ $HTTP_STATUS == 2?? ]] && return 0
  HTTP_ERROR=$HTTP_BODY
  return 1
}

# The retry rule of references/api.md ("Retrying"), for every caller that sends a request again
# (the poll loops): may the request that just failed be repeated? A GET may whenever the failure
# can pass (no reply, 429, any 5xx, JSON or not); any other method only when the server says it
# did nothing, since a dropped connection or a gateway's error may hide a send that was stored.
retryable() { # retryable METHOD
  case $HTTP_STATUS in
    429) return 0 ;;
    503) [[ $1 == GET || $HTTP_CODE == capacity_exceeded || $HTTP_CODE == shutting_down ]] ;;
    0 | 5??) [[ $1 == GET ]] ;;
    *) return 1 ;;
  esac
}

# retry_delay VAR FAILURES BASE: milliseconds to wait before the next attempt, after FAILURES
# failures in a row: the reply's Retry-After when it has one, else BASE seconds doubled for each
# failure after the first; never more than NEXUS_RETRY_MAX seconds.
retry_delay() {
  local retry_ms
  if [[ -n $HTTP_RETRY_AFTER ]]; then
    retry_ms=$((10#$HTTP_RETRY_AFTER * 1000))
  else
    retry_ms=$(($3 * 1000 << ($2 > 20 ? 19 : $2 - 1)))
  fi
  ((retry_ms <= RETRY_MAX_MS)) || retry_ms=$RETRY_MAX_MS
  printf -v "$1" '%d' "$retry_ms"
}

# ---------------------------------------------------------------------------------------------
# State

ensure_dir() {
  [[ -d $1 ]] || mkdir -p -- "$1" 2>/dev/null || die "cannot create the state directory $1"   # 0700: umask 077
}

# load_file PATH CHECK: the file's first line into LOADED. Returns 1 when the file is absent; an
# empty file, or one that fails the CHECK function (is_cursor...), stops the command with a JSON error.
load_file() {
  LOADED=
  [[ -f $1 ]] || return 1
  { IFS= read -r LOADED <"$1"; } 2>/dev/null || [[ -n $LOADED ]] || die_corrupt "$1"
  "$2" "$LOADED" || die_corrupt "$1"
}

# write_atomic PATH CONTENT: a temporary file in the same directory, then a rename.
write_atomic() {
  TMP_PATH=${1%/*}/.${1##*/}.$$.$RANDOM
  if ! { printf '%s\n' "$2" >"$TMP_PATH"; } 2>/dev/null || ! mv -f -- "$TMP_PATH" "$1" 2>/dev/null; then
    rm -f -- "$TMP_PATH"
    TMP_PATH=
    die "cannot write the state file $1"
  fi
  TMP_PATH=
}

session_dir() { printf -v "$1" '%s/sessions/%s' "$STATE_DIR" "$2"; }

# Locks: flock on a lock file when util-linux is there, else a lock directory (mkdir is atomic)
# holding the owner's pid. Both wait at most NEXUS_LOCK_TIMEOUT seconds.
LOCK_FD=
LOCK_DIR=
lock() {
  if [[ -n $HAVE_FLOCK ]]; then
    exec {LOCK_FD}>>"$1"
    flock -w "$NEXUS_LOCK_TIMEOUT" "$LOCK_FD" && return 0
    exec {LOCK_FD}>&-
    LOCK_FD=
    return 1
  fi
  local tries=$((NEXUS_LOCK_TIMEOUT * 20)) owner
  LOCK_DIR=$1.d
  until mkdir -- "$LOCK_DIR" 2>/dev/null; do
    owner=
    { IFS= read -r owner <"$LOCK_DIR/pid"; } 2>/dev/null || true
    if [[ -n $owner ]] && ! kill -0 "$owner" 2>/dev/null; then
      rm -rf -- "$LOCK_DIR"   # its owner died holding it
      continue
    fi
    ((tries-- > 0)) || { LOCK_DIR=; return 1; }
    sleep 0.05
  done
  printf '%s\n' "$$" >"$LOCK_DIR/pid"
}

unlock() {
  if [[ -n $LOCK_FD ]]; then
    exec {LOCK_FD}>&-
    LOCK_FD=
  elif [[ -n $LOCK_DIR ]]; then
    rm -rf -- "$LOCK_DIR"
    LOCK_DIR=
  fi
}

# Aliases: {name: sid} in aliases.json. jq reads it whole (-s), so an empty or damaged file is
# told apart from a missing name.
alias_lookup() {
  local f=$STATE_DIR/aliases.json
  ALIAS_SID=
  [[ -f $f ]] || return 1
  ALIAS_SID=$(jq -rs --arg n "$1" 'if length == 1 and (.[0] | type) == "object" then .[0][$n] // "" else error("damaged") end
    | if type == "string" then . else error("not an id") end' "$f" 2>/dev/null) || die_corrupt "$f"
  [[ -n $ALIAS_SID ]] || return 1
  is_sid "$ALIAS_SID" || die_corrupt "$f"
}

# aliases_update JQ_FILTER [jq args...]: rewrite aliases.json under its lock.
aliases_update() {
  local f=$STATE_DIR/aliases.json filter=$1 updated
  shift
  ensure_dir "$STATE_DIR"
  lock "$STATE_DIR/.aliases.lock" || die "timed out waiting for the lock on $f"
  if [[ -f $f ]]; then
    updated=$(jq -c "$@" "if type == \"object\" then . else error(\"not an object\") end | $filter" "$f" 2>/dev/null) ||
      { unlock; die_corrupt "$f"; }
    [[ -n $updated ]] || { unlock; die_corrupt "$f"; }
  else
    updated=$(jq -nc "$@" "{} | $filter")
  fi
  write_atomic "$f" "$updated"
  unlock
}

# resolve_sid ARG: a session id or an alias into SID.
resolve_sid() {
  if is_hex_sid "$1"; then
    SID=$1
  elif is_alias "$1" && alias_lookup "$1"; then
    SID=$ALIAS_SID
  elif is_sid "$1"; then
    SID=$1
    [[ ! -f $STATE_DIR/aliases.json ]] || note "no alias named '$1': using it as a session id"
  else
    die "invalid session id or alias: $1"
  fi
}

# load_identity SID [required]: the agent (--agent-id, else the saved one) and, when the agent is
# the saved one, its key; REQ_HEADERS carries both.
load_identity() {
  local dir saved=
  session_dir dir "$1"
  AGENT='' KEY=''
  if load_file "$dir/agent" is_agent; then saved=$LOADED; fi
  AGENT=${OPT_AGENT:-$saved}
  if [[ -z $AGENT ]]; then
    [[ ${2:-} != required ]] || die "missing --agent-id" "join the session first (nexus.sh join $1 --agent-id ID) or pass --agent-id"
    REQ_HEADERS=
    return 0
  fi
  if [[ $AGENT == "$saved" ]] && load_file "$dir/key" is_key; then KEY=$LOADED; fi
  REQ_HEADERS="X-Agent-Id: $AGENT"
  [[ -z $KEY ]] || REQ_HEADERS+=$'\n'"X-Session-Key: $KEY"
}

# save_membership SID AGENT KEY: what join, claim and create-with-creator keep.
save_membership() {
  local dir
  if ! is_sid "$1" || ! is_agent "$2" || ! is_key "$3"; then
    fail "$(jq -nc '{error: "unexpected reply from the server: no usable sessionId / sessionKey"}')"
  fi
  session_dir dir "$1"
  ensure_dir "$dir"
  write_atomic "$dir/agent" "$2"
  write_atomic "$dir/key" "$3"
  write_atomic "$dir/server" "$SERVER"
}

# A session with no binding adopts the server of its first successful call (when it is local).
adopt_server() {
  local dir
  session_dir dir "$1"
  [[ -d $dir && ! -f $dir/server ]] || return 0
  write_atomic "$dir/server" "$SERVER"
  note "session $1 is now bound to $SERVER"
}

forget_session() {
  local dir
  session_dir dir "$1"
  rm -rf -- "$dir"
  if [[ -f $STATE_DIR/aliases.json ]]; then
    aliases_update 'with_entries(select(.value != $sid))' --arg sid "$1"
  fi
}

local_sessions() {
  local d
  LOCAL_SIDS=()
  for d in "$STATE_DIR"/sessions/*/; do
    d=${d%/}
    d=${d##*/}
    is_sid "$d" && LOCAL_SIDS+=("$d")
  done
}

# The aliases.json path for jq --slurpfile ($aliases[0] is the object), /dev/null when none.
aliases_file() {
  ALIASES_FILE=/dev/null
  if [[ -f $STATE_DIR/aliases.json ]]; then
    jq -e 'type == "object"' "$STATE_DIR/aliases.json" >/dev/null 2>&1 || die_corrupt "$STATE_DIR/aliases.json"
    ALIASES_FILE=$STATE_DIR/aliases.json
  fi
}
# jq: $aliases (from --slurpfile) as {sid: first name}.
readonly JQ_NAMES='(($aliases[0] // {}) | to_entries | sort_by(.key) | reverse
  | reduce .[] as $e ({}; .[$e.value] = $e.key)) as $names'

# ---------------------------------------------------------------------------------------------
# Server choice: --url > $NEXUS_URL > config.json > built-in default; a session bound to a server
# (sessions/<SID>/server) goes there unless --url says otherwise.

normalize_url() { # normalize_url VAR URL WHAT (VAR may be any name: nothing here is local)
  set -- "$1" "$2" "$3" "$2"
  while [[ $4 == */ ]]; do set -- "$1" "$2" "$3" "${4%/}"; done
  is_url "$4" || die "invalid server URL in $3: $2" "a server URL looks like https://nexus.example.com or http://localhost:8765"
  printf -v "$1" '%s' "$4"
}

config_url() {
  local f=$STATE_DIR/config.json
  CONFIG_URL=
  [[ -f $f ]] || return 0
  CONFIG_URL=$(jq -rs 'if length == 1 and (.[0] | type) == "object" then .[0].serverUrl // "" else error("damaged") end
    | if type == "string" then . else error("not a URL") end' "$f" 2>/dev/null) || die_corrupt "$f"
  [[ -z $CONFIG_URL ]] || is_url "$CONFIG_URL" || die_corrupt "$f"
}

default_server() {
  if [[ -v OPT_URL ]]; then
    SERVER=$OPT_URL SERVER_SOURCE=--url
  elif [[ -n $NEXUS_URL ]]; then
    SERVER=$NEXUS_URL SERVER_SOURCE=NEXUS_URL
  else
    config_url
    if [[ -n $CONFIG_URL ]]; then
      SERVER=$CONFIG_URL SERVER_SOURCE="config.json"
    else
      SERVER=$NEXUS_DEFAULT_URL SERVER_SOURCE="built-in default"
    fi
  fi
}

# pick_server SID: the session's binding unless --url overrides it (with a warning). SERVER_BOUND
# keeps the binding (empty when none).
pick_server() {
  local dir bound=
  session_dir dir "$1"
  if load_file "$dir/server" is_url; then bound=$LOADED; fi
  SERVER_BOUND=$bound
  if [[ -n $bound && ! -v OPT_URL ]]; then
    SERVER=$bound SERVER_SOURCE="session binding"
    [[ -z $NEXUS_URL || $NEXUS_URL == "$bound" ]] || SERVER_SOURCE+="; NEXUS_URL ignored"
    return 0
  fi
  default_server
  [[ -z $bound || $bound == "$SERVER" ]] ||
    note "warning: session $1 is bound to $bound; --url $SERVER wins for this command"
}

# What does $SERVER offer? /health's capabilities, cached per server for NEXUS_CAPS_TTL seconds
# as one line "STAMP CAPS URL", CAPS being a comma list of `json` (takes json messages) and
# `longpoll` (holds a poll with `wait`), or `-` for neither. Sets SERVER_CAPS; returns 1 (with
# HTTP_ERROR set) when the server could not be asked.
server_caps() {
  local f now stamp caps url key=${SERVER//[^A-Za-z0-9]/_}
  f=$STATE_DIR/cache/$key.health
  now_epoch now
  if [[ -f $f ]] && { read -r stamp caps url <"$f"; } 2>/dev/null && [[ $stamp =~ ^[0-9]+$ && $url == "$SERVER" ]] &&
    ((now - stamp < NEXUS_CAPS_TTL)); then
    SERVER_CAPS=$caps
    return 0
  fi
  local saved_headers=$REQ_HEADERS
  REQ_HEADERS=
  if HTTP_READ='[[(if ((.capabilities.messageFormat // []) | index("json")) != null then "json" else empty end),
      (if .capabilities.longPoll == true then "longpoll" else empty end)] | if length == 0 then "-" else join(",") end]' http GET /health; then
    caps=${HTTP_FIELDS[0]:--}
  elif [[ $HTTP_STATUS == 4?? ]] && ! retryable GET; then
    caps=-   # a server without /health: text only, no long-poll
  else
    REQ_HEADERS=$saved_headers
    return 1
  fi
  REQ_HEADERS=$saved_headers
  ensure_dir "$STATE_DIR/cache"
  write_atomic "$f" "$now $caps $SERVER"
  SERVER_CAPS=$caps
}

server_takes_json() {
  server_caps || fail "$HTTP_ERROR"
  [[ ,$SERVER_CAPS, == *,json,* ]]
}

server_long_polls() {
  server_caps || return 1
  [[ ,$SERVER_CAPS, == *,longpoll,* ]]
}

# ---------------------------------------------------------------------------------------------
# Arguments: flags anywhere on the line (`--flag value` or `--flag=value`); `--` ends them. The
# first word is the command, the rest its arguments.

set_opt() {
  local name=$1 value=$2
  case $name in
    --url) normalize_url OPT_URL "$value" --url ;;
    --agent-id | --creator-agent-id)
      is_agent "$value" || die "invalid $name: $value" "an agent id is 1-128 of A-Z a-z 0-9 _ -"
      if [[ $name == --agent-id ]]; then OPT_AGENT=$value; else OPT_CREATOR=$value; fi
      ;;
    --ttl | --interval | --max-agents | --wait)
      is_seconds "$value" || die "invalid $name: $value" "$name takes a whole number"
      value=$((10#$value))
      case $name in
        --ttl) OPT_TTL=$value ;;
        --interval) OPT_INTERVAL=$value ;;
        --max-agents) OPT_MAX_AGENTS=$value ;;
        --wait) OPT_WAIT=$value ;;
      esac
      ;;
    --after)
      is_cursor "$value" || die "invalid --after: $value" "a cursor is a whole number, as in nextCursor"
      OPT_AFTER=$((10#$value))
      ;;
    --greeting) OPT_GREETING=$value ;;
    --json) OPT_JSON=$value ;;
    --reason) OPT_REASON=$value ;;
    --webhook)
      is_url "$value" || die "invalid --webhook: $value" "a webhook is an http:// or https:// URL"
      OPT_WEBHOOK=$value
      ;;
  esac
}

parse_args() {
  local arg
  while (($#)); do
    arg=$1
    case $arg in
      --)
        shift
        if [[ -z $CMD && $# -gt 0 ]]; then CMD=$1 && shift; fi
        ARGS+=("$@")
        break
        ;;
      --url=* | --agent-id=* | --ttl=* | --after=* | --greeting=* | --interval=* | --max-agents=* | \
        --creator-agent-id=* | --wait=* | --reason=* | --webhook=*)
        set_opt "${arg%%=*}" "${arg#*=}"
        ;;
      --json=*)
        [[ $CMD == send ]] || die "unknown option: --json=..." "--json takes a payload only with send"
        set_opt --json "${arg#*=}"
        ;;
      --url | --agent-id | --ttl | --after | --greeting | --interval | --max-agents | --creator-agent-id | --wait | \
        --reason | --webhook)
        (($# >= 2)) || die "missing value for $arg"
        set_opt "$arg" "$2"
        shift
        ;;
      --json)
        if [[ $CMD == send ]]; then
          (($# >= 2)) || die "missing value for --json"
          set_opt --json "$2"
          shift
        else
          OPT_JSON_OUTPUT=1
        fi
        ;;
      --members) OPT_MEMBERS=1 ;;
      --strict) OPT_STRICT=1 ;;
      --active) OPT_ACTIVE=1 ;;
      --yes | -y) OPT_YES=1 ;;
      --stdin) OPT_STDIN=1 ;;
      --remove) OPT_REMOVE=1 ;;
      -h | --help) OPT_HELP=1 ;;
      -?*) die "unknown option: $arg" "to send text that starts with a dash, put -- before it: nexus.sh send SID -- $arg" ;;
      *)
        if [[ -z $CMD ]]; then CMD=$arg; else ARGS+=("$arg"); fi
        ;;
    esac
    shift
  done
}

# args_between MIN MAX USAGE: the command's word count, or a usage error.
args_between() {
  local n=${#ARGS[@]}
  ((n >= $1)) || die "missing argument: usage: nexus.sh $3"
  ((n <= $2)) || die "unexpected argument: ${ARGS[$2]}" "usage: nexus.sh $3"
}

# ---------------------------------------------------------------------------------------------
# Commands

cmd_create() {
  args_between 0 0 "create [--ttl N] [--max-agents N] [--greeting T] [--creator-agent-id ID]"
  local body sid key
  body=$(jq -nc --arg ttl "${OPT_TTL-}" --arg max "${OPT_MAX_AGENTS-}" --arg creator "${OPT_CREATOR-}" \
    --arg greeting "${OPT_GREETING-}" --arg has_greeting "${OPT_GREETING+1}" \
    '{}
     + (if $ttl != "" then {ttl: ($ttl | tonumber)} else {} end)
     + (if $max != "" then {maxAgents: ($max | tonumber)} else {} end)
     + (if $has_greeting == "1" then {greeting: $greeting} else {} end)
     + (if $creator != "" then {creatorAgentId: $creator} else {} end)')
  default_server
  REQ_HEADERS=
  HTTP_READ='[.sessionId, .sessionKey]' http PUT /v1/sessions "$body" || fail "$HTTP_ERROR"
  emit "$HTTP_BODY"
  sid=${HTTP_FIELDS[0]:-} key=${HTTP_FIELDS[1]:-}
  if [[ -v OPT_CREATOR ]]; then
    save_membership "$sid" "$OPT_CREATOR" "$key"
    note "session $sid created; you are $OPT_CREATOR, its creator (key saved). Next: nexus.sh pair $sid"
  else
    note "session $sid created. Next: nexus.sh join $sid --agent-id ID, then nexus.sh pair $sid"
  fi
}

cmd_status() {
  args_between 1 1 "status <SID>"
  resolve_sid "${ARGS[0]}"
  pick_server "$SID"
  REQ_HEADERS=
  http GET "/v1/sessions/$SID" || fail "$HTTP_ERROR"
  emit "$HTTP_BODY"
  adopt_server "$SID"
}

# The body of a join or a claim, as http's arguments: `{"webhookUrl": URL}` with --webhook, else none.
membership_body() {
  MEMBERSHIP_BODY=()
  if [[ -v OPT_WEBHOOK ]]; then MEMBERSHIP_BODY=("$(jq -nc --arg url "$OPT_WEBHOOK" '{webhookUrl: $url}')"); fi
}

# After a join or a claim with --webhook: where its secret is (in the reply, shown once), or why
# the server did not set it (the membership stands either way).
webhook_note() {
  [[ -v OPT_WEBHOOK ]] || return 0
  if [[ -n ${HTTP_FIELDS[2]:-} ]]; then
    note "webhook not set: ${HTTP_FIELDS[2]} (you are a member all the same; retry with nexus.sh webhook $1 URL)"
  else
    note "webhook set: each new message is POSTed to $OPT_WEBHOOK, signed with webhookSecret (shown once, above)"
  fi
}

cmd_join() {
  args_between 1 1 "join <SID> --agent-id ID [--webhook URL]"
  [[ -v OPT_AGENT ]] || die "missing --agent-id"
  resolve_sid "${ARGS[0]}"
  pick_server "$SID"
  REQ_HEADERS="X-Agent-Id: $OPT_AGENT"
  membership_body
  HTTP_READ='[.sessionKey, .sessionId, (.webhookError.message // "")]' \
    http POST "/v1/sessions/$SID/join" "${MEMBERSHIP_BODY[@]}" || fail "$HTTP_ERROR"
  emit "$HTTP_BODY"
  save_membership "$SID" "$OPT_AGENT" "${HTTP_FIELDS[0]:-}"
  note "joined $SID as $OPT_AGENT (key saved). Next: nexus.sh poll $SID"
  webhook_note "$SID"
}

cmd_leave() {
  args_between 1 1 "leave <SID>"
  resolve_sid "${ARGS[0]}"
  pick_server "$SID"
  load_identity "$SID" required
  [[ -n $KEY ]] || die "no session key found" "leaving needs the key saved by join, claim or create --creator-agent-id"
  local code=
  if http DELETE "/v1/sessions/$SID/agents/$AGENT"; then
    forget_session "$SID"
    emit "$HTTP_BODY"
    note "left $SID; local state and aliases removed"
    return 0
  fi
  [[ $HTTP_STATUS != 404 ]] || code=$HTTP_CODE
  # Only the session's own server can say it is gone: --url elsewhere proves nothing.
  if [[ -n $code && -n $SERVER_BOUND && $SERVER_BOUND != "$SERVER" ]]; then code=elsewhere; fi
  case $code in
    session_not_found | agent_not_found)
      forget_session "$SID"
      note "the server no longer has $AGENT in $SID ($code); local state and aliases removed"
      ;;
    *)
      if [[ $code == elsewhere ]]; then
        note "kept the local state of $SID: it is bound to $SERVER_BOUND, not $SERVER"
      elif [[ $HTTP_STATUS == 403 ]]; then
        note "kept the local state of $SID: the server refused (the creator cannot leave; the session ends when it expires)"
      else
        note "kept the local state of $SID: the outcome is unknown; try again later"
      fi
      ;;
  esac
  fail "$HTTP_ERROR"
}

cmd_pair() {
  args_between 1 1 "pair <SID>"
  resolve_sid "${ARGS[0]}"
  pick_server "$SID"
  REQ_HEADERS=
  HTTP_READ='[.expiresAt, .url]' http PUT /v1/pair "$(jq -nc --arg sid "$SID" '{sessionId: $sid}')" || fail "$HTTP_ERROR"
  emit "$HTTP_BODY"
  note "give this link to the other agent (it works once, until ${HTTP_FIELDS[0]:-}): ${HTTP_FIELDS[1]:-}"
}

# A pairing code, or a pairing link (…/p/CODE or …/v1/pair/CODE/skill) whose base names the server.
parse_code() {
  local arg=$1
  LINK_BASE=
  if [[ $arg =~ ^(https?://[^[:space:]]+)/(p|v1/pair)/([A-Za-z0-9-]+)(/skill)?/?$ ]]; then
    arg=${BASH_REMATCH[3]}
    normalize_url LINK_BASE "${BASH_REMATCH[1]}" "the pairing link"
  fi
  is_code "$arg" || die "invalid pairing code: $1" "a code looks like WORD-WORD-XXXXX"
  CODE=$arg
  default_server
  if [[ -n $LINK_BASE && $SERVER != "$LINK_BASE" ]]; then
    if [[ -v OPT_URL ]]; then
      note "warning: the link names $LINK_BASE; --url $SERVER wins"
    else
      SERVER=$LINK_BASE SERVER_SOURCE="pairing link"
    fi
  fi
}

cmd_claim() {
  args_between 1 1 "claim <CODE> --agent-id ID [--webhook URL]"
  [[ -v OPT_AGENT ]] || die "missing --agent-id"
  parse_code "${ARGS[0]}"
  REQ_HEADERS="X-Agent-Id: $OPT_AGENT"
  membership_body
  HTTP_READ='[.sessionId, .sessionKey, (.webhookError.message // "")]' \
    http POST "/v1/pair/$CODE/claim" "${MEMBERSHIP_BODY[@]}" || fail "$HTTP_ERROR"
  emit "$HTTP_BODY"
  local sid=${HTTP_FIELDS[0]:-} key=${HTTP_FIELDS[1]:-}
  save_membership "$sid" "$OPT_AGENT" "$key"
  note "claimed: you are $OPT_AGENT in session $sid (key saved, bound to $SERVER)."
  webhook_note "$sid"
  note "next: nexus.sh poll $sid   (reads the greeting and everything so far)"
  note "then: nexus.sh send $sid 'hello'   and keep polling; name it with nexus.sh alias $sid NAME"
}

cmd_pair_status() {
  args_between 1 1 "pair-status <CODE>"
  parse_code "${ARGS[0]}"
  REQ_HEADERS=
  http GET "/v1/pair/$CODE/status" || fail "$HTTP_ERROR"
  emit "$HTTP_BODY"
}

cmd_send() {
  ((${#ARGS[@]} >= 1)) || die "missing argument: usage: nexus.sh send <SID> TEXT... [--json PAYLOAD] [--strict]"
  resolve_sid "${ARGS[0]}"
  pick_server "$SID"
  load_identity "$SID" required
  local text="${ARGS[*]:1}" mode=text body
  if [[ -v OPT_STDIN ]]; then
    [[ -z $text ]] || die "give the text either as words or on stdin (--stdin), not both"
    # All of stdin, trailing newlines kept. Read here, not by jq: stdin may be a socket (a
    # process spawned by Node), which /dev/stdin cannot open.
    IFS= read -r -d '' text || true
  fi
  if [[ -z $text && ! -v OPT_JSON ]]; then
    die "missing message text" "usage: nexus.sh send <SID> TEXT... (put -- before text that starts with a dash)"
  fi
  if [[ -v OPT_JSON ]]; then
    if server_takes_json; then
      mode=json
    elif [[ -v OPT_STRICT ]]; then
      die "json messages not supported by $SERVER" "without --strict the payload is folded into the text"
    else
      mode='fold'
      note "$SERVER does not take json messages: the payload is sent inside the text"
    fi
  fi
  # Text alone, the common case: jq writes the body straight into curl, the two
  # starting together, so building it costs next to nothing. jq cannot fail on it (the text is
  # not empty; it comes on stdin, so no argv limit), so nothing is sent that was not meant.
  # (--rawfile, not -R: jq 1.6's -R breaks a multibyte character across its 4 KB buffer.)
  if [[ $mode == text ]]; then
    jq -nc --rawfile text /dev/stdin '{text: $text[:-1]}' <<<"$text" | http POST "/v1/sessions/$SID/messages" - || fail "$HTTP_ERROR"
  else
    # The text reaches jq on stdin (no argv limit); the here-string's own newline is dropped.
    local -a jq_args=(-nc --rawfile text /dev/stdin --arg mode "$mode" --argjson json "${OPT_JSON-null}")
    local program='$text[:-1] as $t
      | if $mode == "json" then (if $t == "" then {} else {text: $t} end) + {json: $json}
        else {text: ((if $t == "" then "" else $t + "\n" end) + ($json | tojson))} end'
    # jq fails here only on a --json that is not one JSON value.
    body=$(jq "${jq_args[@]}" "$program" 2>/dev/null <<<"$text") ||
      die "invalid --json payload: it must be one JSON value" "for example --json '{\"status\":\"done\"}'"
    http POST "/v1/sessions/$SID/messages" "$body" || fail "$HTTP_ERROR"
  fi
  emit "$HTTP_BODY"
  adopt_server "$SID"
}

# poll_once SID: one poll. With --after the saved cursor is neither read nor written (--after 0:
# from the very start, greeting included: no `after` is sent); without it, from the saved cursor,
# and the reply's nextCursor is saved if it is ahead (under the session's lock: a racing poll
# never moves the cursor back). Sets POLL_NEXT, POLL_COUNT (0: none, else at least one), POLL_MORE,
# POLL_GAP; the page is in HTTP_BODY.
poll_once() {
  local sid=$1 dir after='' query=''
  session_dir dir "$sid"
  if [[ -v OPT_AFTER ]]; then
    ((OPT_AFTER == 0)) || after=$OPT_AFTER
  elif load_file "$dir/cursor" is_cursor; then
    after=$LOADED
  fi
  [[ -z $after ]] || query+="&after=$after"
  [[ ! -v OPT_MEMBERS ]] || query+="&members=true"
  HTTP_TIME=$NEXUS_HTTP_TIMEOUT
  if [[ -v OPT_WAIT ]]; then
    query+="&wait=$OPT_WAIT"
    HTTP_TIME=$((${NEXUS_HTTP_TIMEOUT%.*} + OPT_WAIT))
  fi
  [[ -z $query ]] || query="?${query#&}"
  HTTP_READ='[.nextCursor, (.messages | length), .hasMore // false, .gap // false, .oldestCursor]' \
    http GET "/v1/sessions/$sid/messages$query" || return 1
  POLL_NEXT=${HTTP_FIELDS[0]:-} POLL_COUNT=${HTTP_FIELDS[1]:-0} POLL_MORE=${HTTP_FIELDS[2]:-false}
  POLL_GAP=${HTTP_FIELDS[3]:-false} POLL_OLDEST=${HTTP_FIELDS[4]:-}
  if ! is_cursor "$POLL_NEXT"; then
    HTTP_ERROR=$(jq -nc --arg server "$SERVER" '{error: "unexpected reply from the server: no nextCursor", server: $server}')
    return 1
  fi
  [[ $POLL_GAP != true ]] ||
    note "the server dropped old messages: the oldest it still holds is $POLL_OLDEST; some messages were missed"
  if [[ ! -v OPT_AFTER && $POLL_NEXT != "$after" ]]; then save_cursor "$dir" "$POLL_NEXT"; fi
  mark_polled "$dir"
}

save_cursor() {
  local dir=$1 next=$2
  ensure_dir "$dir"
  if ! lock "$dir/.lock"; then
    note "warning: the cursor was not saved (its lock is busy); the next poll repeats these messages"
    return 0
  fi
  if ! load_file "$dir/cursor" is_cursor || ((10#$next > 10#$LOADED)); then
    write_atomic "$dir/cursor" "$next"
  fi
  unlock
}

# The time of the last successful poll, at most one write per second.
mark_polled() {
  local f=$1/last_poll now prev=
  [[ -d $1 ]] || return 0
  now_iso now
  [[ ! -f $f ]] || { IFS= read -r prev <"$f"; } 2>/dev/null || true
  [[ $prev == "$now" ]] || write_atomic "$f" "$now"
}

cmd_poll() {
  args_between 1 1 "poll <SID> [--after C] [--members]"
  resolve_sid "${ARGS[0]}"
  pick_server "$SID"
  load_identity "$SID" required
  poll_once "$SID" || fail "$HTTP_ERROR"
  emit "$HTTP_BODY"
  adopt_server "$SID"
  [[ $POLL_MORE != true ]] || note "more messages are waiting: poll again"
}

cmd_renew() {
  args_between 1 1 "renew <SID> [--ttl N]"
  resolve_sid "${ARGS[0]}"
  pick_server "$SID"
  load_identity "$SID" required
  http POST "/v1/sessions/$SID/renew" "$(jq -nc --arg ttl "${OPT_TTL-}" 'if $ttl == "" then {} else {ttl: ($ttl | tonumber)} end')" ||
    fail "$HTTP_ERROR"
  emit "$HTTP_BODY"
  adopt_server "$SID"
}

# ---------------------------------------------------------------------------------------------
# Local sessions and setup: aliases, the listing and probing of every local session, the default
# server, bindings, and the doctor.

cmd_end() {
  args_between 1 1 "end <SID> [--reason TEXT]"
  resolve_sid "${ARGS[0]}"
  pick_server "$SID"
  load_identity "$SID" required
  [[ -n $KEY ]] || die "no session key found" "ending needs the key saved by join, claim or create --creator-agent-id"
  jq -nc --arg reason "${OPT_REASON-}" --arg has_reason "${OPT_REASON+1}" \
    'if $has_reason == "1" then {reason: $reason} else {} end' | http POST "/v1/sessions/$SID/end" - || fail "$HTTP_ERROR"
  emit "$HTTP_BODY"
  adopt_server "$SID"
  note "ended $SID for every member: sends now get channel_ended; reads go on until it expires"
}

# webhook SID: its health; webhook SID URL: set or replace it (the secret is shown this once);
# webhook SID --remove: remove it.
cmd_webhook() {
  args_between 1 2 "webhook <SID> [URL | --remove]"
  resolve_sid "${ARGS[0]}"
  pick_server "$SID"
  load_identity "$SID" required
  [[ -n $KEY ]] || die "no session key found" "a webhook needs the key saved by join, claim or create --creator-agent-id"
  local path="/v1/sessions/$SID/webhook"
  if ((${#ARGS[@]} == 2)); then
    [[ ! -v OPT_REMOVE ]] || die "give a URL or --remove, not both"
    is_url "${ARGS[1]}" || die "invalid webhook URL: ${ARGS[1]}" "a webhook is an http:// or https:// URL"
    jq -nc --arg url "${ARGS[1]}" '{url: $url}' | http PUT "$path" - || fail "$HTTP_ERROR"
    note "webhook set: keep the secret above to verify deliveries (Standard Webhooks); it is not shown again"
  elif [[ -v OPT_REMOVE ]]; then
    http DELETE "$path" || fail "$HTTP_ERROR"
  else
    http GET "$path" || fail "$HTTP_ERROR"
  fi
  emit "$HTTP_BODY"
  adopt_server "$SID"
}

cmd_alias() {
  args_between 2 2 "alias <SID> <NAME>"
  local name=${ARGS[1]}
  if ! is_alias "$name" || is_hex_sid "$name"; then
    die "invalid alias name: $name" "a name is 1-64 of A-Z a-z 0-9 . _ - (starting with a letter or digit)"
  fi
  resolve_sid "${ARGS[0]}"
  aliases_update '.[$name] = $sid' --arg name "$name" --arg sid "$SID"
  emit "$(jq -nc --arg name "$name" --arg sid "$SID" '{alias: $name, sessionId: $sid}')"
}

cmd_unalias() {
  args_between 1 1 "unalias <NAME>"
  local name=${ARGS[0]}
  if ! is_alias "$name" || ! alias_lookup "$name"; then die "unknown alias: $name"; fi
  aliases_update 'del(.[$name])' --arg name "$name"
  emit "$(jq -nc --arg name "$name" --arg sid "$ALIAS_SID" '{removed: $name, sessionId: $sid}')"
}

# probe_sessions: each local session's status on its own server, in parallel (8 at a time), into
# PROBE_LINES: sid, agent, server, cursor, status (active, not_found, unreachable, error) and the
# members when active (for doctor), separated by $US: a tab would not do, since `read` merges
# consecutive tabs and so loses empty fields.
probe_sessions() {
  local sid dir agent cursor running=0
  PROBE_LINES=()
  local_sessions
  ((${#LOCAL_SIDS[@]} > 0)) || return 0
  TMP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/nexus.XXXXXX")
  for sid in "${LOCAL_SIDS[@]}"; do
    session_dir dir "$sid"
    pick_server "$sid"
    announce_server
    printf '%s\n' "$SERVER" >"$TMP_DIR/$sid.server"
    (
      HTTP_TIME=$NEXUS_STATUS_TIMEOUT REQ_HEADERS=
      if HTTP_READ='[.agents // [] | tojson]' http GET "/v1/sessions/$sid"; then
        printf 'active\t%s\n' "${HTTP_FIELDS[0]:-[]}"
      elif [[ $HTTP_STATUS == 404 && -n $HTTP_CODE ]]; then
        printf 'not_found\t[]\n'
      elif [[ $HTTP_STATUS == 0 ]]; then
        printf 'unreachable\t[]\n'
      else
        printf 'error\t[]\n'
      fi >"$TMP_DIR/$sid.status"
    ) &
    if ((++running >= 8)); then
      wait -n || true
      running=$((running - 1))
    fi
  done
  wait || true
  for sid in "${LOCAL_SIDS[@]}"; do
    session_dir dir "$sid"
    agent='' cursor=''
    [[ ! -f $dir/agent ]] || { IFS= read -r agent <"$dir/agent"; } 2>/dev/null || true
    [[ ! -f $dir/cursor ]] || { IFS= read -r cursor <"$dir/cursor"; } 2>/dev/null || true
    is_agent "$agent" || agent=
    is_cursor "$cursor" || cursor=
    IFS= read -r SERVER <"$TMP_DIR/$sid.server"
    local status=error agents='[]'
    { IFS=$'\t' read -r status agents <"$TMP_DIR/$sid.status"; } 2>/dev/null || true
    PROBE_LINES+=("$sid$US$agent$US$SERVER$US$cursor$US$status$US$agents")
  done
}

cmd_ls() {
  args_between 0 0 "ls [--active] [--json]"
  probe_sessions
  aliases_file
  local listing
  listing=$( ((${#PROBE_LINES[@]} == 0)) || printf '%s\n' "${PROBE_LINES[@]}" |
    jq -Rnc --slurpfile aliases "$ALIASES_FILE" --arg active "${OPT_ACTIVE:+1}" "$JQ_NAMES"'
      | {sessions: [inputs | split("\u001f")
          | {sessionId: .[0], alias: ($names[.[0]] // null), agentId: (if .[1] == "" then null else .[1] end),
             status: .[4], server: .[2], cursor: (if .[3] == "" then null else .[3] end)}
          | select($active != "1" or .status == "active")]}')
  [[ -n $listing ]] || listing='{"sessions":[]}'
  emit "$listing"
  if [[ ! -v OPT_JSON_OUTPUT ]]; then
    jq -r '(["SESSION", "ALIAS", "AGENT", "STATUS", "SERVER"] | @tsv),
      (.sessions[] | [.sessionId, (.alias // "-"), (.agentId // "-"), .status, .server] | @tsv)' <<<"$listing" >&2
  fi
}

cmd_poll_all() {
  args_between 0 0 "poll-all [--active] [--members]"
  local sid entry failed=0 line status
  local -a sids=()
  if [[ -v OPT_ACTIVE ]]; then
    probe_sessions
    for line in "${PROBE_LINES[@]}"; do
      IFS=$US read -r sid _ _ _ status _ <<<"$line"
      [[ $status != active ]] || sids+=("$sid")
    done
  else
    local_sessions
    sids=("${LOCAL_SIDS[@]}")
  fi
  # One JSON value per session (its page, or the error it got), and beside each its id and
  # outcome: jq puts the two together.
  local -a pages=() labels=()
  for sid in "${sids[@]}"; do
    # Each session in a subshell: one session's damaged state is its own error, not everyone's.
    if entry=$(
      pick_server "$sid"
      load_identity "$sid" required
      poll_once "$sid" || fail "$HTTP_ERROR"
      adopt_server "$sid"
      printf '%s\n' "$HTTP_BODY"
    ); then
      labels+=("$sid" ok)
    else
      failed=1
      jq -e 'type == "object"' >/dev/null 2>&1 <<<"${entry:-null}" || entry='{"error":"poll failed"}'
      labels+=("$sid" failed)
    fi
    pages+=("$entry")
  done
  aliases_file
  emit "$(printf '%s\n' "${pages[@]}" | jq -nc --slurpfile aliases "$ALIASES_FILE" --args "$JQ_NAMES"'
    | [inputs] as $pages | $ARGS.positional as $labels
    | {sessions: [range(0; $pages | length) as $i | $labels[2 * $i] as $sid | $pages[$i]
        | {sessionId: $sid, alias: ($names[$sid] // null)}
          + if $labels[2 * $i + 1] == "ok" then {messages: (.messages // []), members: (.members // null)}
            else {messages: [], members: null, error: .} end]}' "${labels[@]}")"
  ((failed == 0)) || exit 1
}

cmd_config() {
  local sub=${ARGS[0]:-}
  case $sub in
    set-url)
      args_between 2 2 "config set-url URL"
      local url now config
      normalize_url url "${ARGS[1]}" "config set-url"
      now_iso now
      config=$(jq -n --arg url "$url" --arg now "$now" '{serverUrl: $url, updatedAt: $now}')
      ensure_dir "$STATE_DIR"
      write_atomic "$STATE_DIR/config.json" "$config"
      ;;
    show) args_between 1 1 "config show" ;;
    unset)
      args_between 1 1 "config unset"
      rm -f -- "$STATE_DIR/config.json"
      ;;
    '') die "missing argument: usage: nexus.sh config set-url URL | show | unset" ;;
    *) die "unknown config command: $sub" "usage: nexus.sh config set-url URL | show | unset" ;;
  esac
  local file=/dev/null
  [[ ! -f $STATE_DIR/config.json ]] || file=$STATE_DIR/config.json
  config_url
  default_server
  emit "$(jq -nc --slurpfile config "$file" --arg url "$SERVER" --arg source "$SERVER_SOURCE" --arg dir "$STATE_DIR" \
    '($config[0] // {}) as $c
     | {serverUrl: ($c.serverUrl // null), updatedAt: ($c.updatedAt // null),
        effective: {url: $url, source: $source}, stateDir: $dir}')"
}

cmd_bind() {
  args_between 1 1 "bind <SID>"
  resolve_sid "${ARGS[0]}"
  local dir
  session_dir dir "$SID"
  default_server
  REQ_HEADERS=
  http GET "/v1/sessions/$SID" || fail "$HTTP_ERROR"
  ensure_dir "$dir"
  write_atomic "$dir/server" "$SERVER"
  emit "$(jq -nc --arg sid "$SID" --arg server "$SERVER" '{sessionId: $sid, server: $server, bound: true}')"
}

file_mode() {
  FILE_MODE=$(stat -c %a -- "$1" 2>/dev/null || stat -f %Lp -- "$1" 2>/dev/null) || FILE_MODE=
}

cmd_doctor() {
  args_between 0 0 "doctor"
  local line sid agent server cursor status agents dir key_mode check url sources
  local -a servers=() server_lines=() session_lines=() problems=()
  default_server
  servers+=("$SERVER")
  sources=$SERVER_SOURCE
  probe_sessions
  for line in "${PROBE_LINES[@]}"; do
    IFS=$US read -r sid agent server cursor status agents <<<"$line"
    [[ " ${servers[*]} " == *" $server "* ]] || servers+=("$server")
    session_dir dir "$sid"
    problems=()
    [[ -n $agent ]] || problems+=("agent file missing or damaged")
    file_mode "$dir"
    [[ $FILE_MODE == 700 ]] || problems+=("directory mode is ${FILE_MODE:-unknown}, not 700")
    key_mode=
    if [[ -f $dir/key ]]; then
      file_mode "$dir/key"
      key_mode=$FILE_MODE
      [[ $key_mode == 600 ]] || problems+=("key file mode is ${key_mode:-unknown}, not 600")
      check=
      { IFS= read -r check <"$dir/key"; } 2>/dev/null || true
      is_key "$check" || problems+=("key file damaged")
    else
      problems+=("no key file")
    fi
    [[ ! -f $dir/cursor || -n $cursor ]] || problems+=("cursor file damaged")
    case $status in
      active) ;;
      not_found) problems+=("the server no longer has this session (nexus.sh leave $sid cleans it up)") ;;
      unreachable) problems+=("server unreachable") ;;
      *) problems+=("the server answered with an error") ;;
    esac
    if [[ $status == active && -n $agent ]] && ! jq -e --arg a "$agent" 'index($a) != null' >/dev/null <<<"${agents:-[]}"; then
      problems+=("$agent is not a member any more (join again)")
    fi
    session_lines+=("$(jq -nc --arg sid "$sid" --arg agent "$agent" --arg server "$server" --arg status "$status" \
      --arg keyMode "$key_mode" --args '$ARGS.positional as $p
      | {sessionId: $sid, agentId: (if $agent == "" then null else $agent end), server: $server,
         reachable: ($status != "unreachable"), status: $status,
         member: ($status == "active" and ($p | map(select(endswith("not a member any more (join again)"))) | length == 0)),
         keyMode: (if $keyMode == "" then null else $keyMode end),
         problems: $p, ok: ($p | length == 0)}' "${problems[@]}")")
  done
  for url in "${servers[@]}"; do
    SERVER=$url
    [[ $url == "${servers[0]}" ]] && SERVER_SOURCE=$sources || SERVER_SOURCE="session binding"
    HTTP_TIME=$NEXUS_STATUS_TIMEOUT REQ_HEADERS=
    if HTTP_READ='[{url: $server, reachable: true, ok: (.status == "ok"), version: (.version // null),
        messageFormat: (.capabilities.messageFormat // null)} | tojson]' http GET /health; then
      server_lines+=("${HTTP_FIELDS[0]}")
    else
      server_lines+=("$(jq -nc --arg url "$url" --argjson error "$HTTP_ERROR" \
        '{url: $url, reachable: ($error.error != "transport_error"), ok: false, error: $error}')")
    fi
  done
  file_mode "$STATE_DIR"
  local state_mode=$FILE_MODE aliases_ok=true report
  ALIASES_FILE=/dev/null
  if [[ -f $STATE_DIR/aliases.json ]]; then
    if jq -e 'type == "object"' "$STATE_DIR/aliases.json" >/dev/null 2>&1; then
      ALIASES_FILE=$STATE_DIR/aliases.json
    else
      aliases_ok=false
    fi
  fi
  report=$(jq -nr --argjson servers "$(printf '%s\n' "${server_lines[@]}" | jq -sc .)" \
    --argjson sessions "$(printf '%s\n' "${session_lines[@]}" | jq -sc .)" --slurpfile aliases "$ALIASES_FILE" \
    --arg dir "$STATE_DIR" --arg mode "$state_mode" --argjson aliasesOk "$aliases_ok" --arg flock "$HAVE_FLOCK" \
    "$JQ_NAMES"'
    | ($mode == "" or $mode == "700") as $modeOk
    | {ok: (($servers | all(.ok)) and ($sessions | all(.ok)) and $modeOk and $aliasesOk),
       stateDir: {path: $dir, mode: (if $mode == "" then null else $mode end), ok: $modeOk, aliasesOk: $aliasesOk},
       lock: (if $flock == "1" then "flock" else "mkdir" end),
       servers: $servers,
       sessions: [$sessions[] | . + {alias: ($names[.sessionId] // null)}]}
    | "\(.ok)\t\(tojson)"')
  emit "${report#*$'\t'}"
  [[ ${report%%$'\t'*} == true ]] || exit 1
}

# ---------------------------------------------------------------------------------------------
# Poll loops: poll-daemon (for --ttl seconds of run time) and heartbeat (until a signal). Each
# batch with messages is printed as one JSON line. A failure the retry rule (retryable) lets a
# GET repeat (no reply, 429, 5xx) is retried after Retry-After when the reply has it, else after
# 1, 2, 4... intervals, at most NEXUS_RETRY_MAX seconds apart; any other failure (session gone,
# not a member, a page that is not JSON) prints its error and exits 1. SIGINT / SIGTERM stop the
# loop after the request in flight: exit 0. While it runs, daemons/<SID>.json says so.

run_loop() {
  local kind=$1 interval=$2 runtime=$3 now until=0 delay failures=0 wait_ms long_poll=false hold
  now_ms now
  ((runtime == 0)) || until=$((now + runtime * 1000))

  write_daemon_record "$kind" "$interval" "$((until / 1000))"
  trap 'LOOP_STOP=1; [[ -z $SLEEP_PID ]] || kill "$SLEEP_PID" 2>/dev/null || true' INT TERM
  if ((runtime == 0)); then
    note "$kind: polling $SID every ${interval}s until stopped (Ctrl-C, or kill $$)"
  else
    note "$kind: polling $SID every ${interval}s for ${runtime}s (stop it with Ctrl-C, or kill $$)"
  fi
  while ((LOOP_STOP == 0)); do
    wait_ms=$((interval * 1000))
    # On a server that long-polls, each poll is held until a message arrives (or the interval
    # runs out), so a message reaches the loop within milliseconds; the hold paces the loop.
    # Asked again each round until the server answers (it may be down when the loop starts).
    if [[ $long_poll == false ]] && server_long_polls; then long_poll=true; fi
    if [[ $long_poll == true ]]; then
      hold=$((interval < 60 ? interval : 60))
      if ((until > 0)); then
        now_ms now
        ((hold * 1000 <= until - now)) || hold=$(((until - now) / 1000))
      fi
      if ((hold >= 1)); then OPT_WAIT=$hold; else unset OPT_WAIT; fi
    fi
    if poll_once "$SID"; then
      failures=0
      [[ ! -v OPT_WAIT ]] || wait_ms=0
      if ((POLL_COUNT > 0)) || [[ $POLL_GAP == true ]]; then
        # One line per page: another server may indent its JSON.
        if [[ $HTTP_BODY == *$'\n'* ]]; then emit "$(jq -c . <<<"$HTTP_BODY")"; else emit "$HTTP_BODY"; fi
      fi
      [[ $POLL_MORE != true ]] || wait_ms=0
    elif retryable GET; then
      failures=$((failures + 1))
      retry_delay wait_ms "$failures" "$interval"
      if ((wait_ms % 1000 == 0)); then delay=$((wait_ms / 1000)); else printf -v delay '%d.%03d' "$((wait_ms / 1000))" "$((wait_ms % 1000))"; fi
      note "$kind: poll failed ($(jq -r '.error // "error"' <<<"$HTTP_ERROR" 2>/dev/null || echo error)); retrying in ${delay}s"
    else
      fail "$HTTP_ERROR"
    fi
    ((LOOP_STOP == 0)) || break
    if ((until > 0)); then
      now_ms now
      ((now < until)) || break
      ((wait_ms <= until - now)) || wait_ms=$((until - now))
    fi
    ((wait_ms > 0)) || continue
    printf -v delay '%d.%03d' "$((wait_ms / 1000))" "$((wait_ms % 1000))"
    sleep "$delay" &
    SLEEP_PID=$!
    wait "$SLEEP_PID" 2>/dev/null || true
    SLEEP_PID=
  done
  exit 0
}

write_daemon_record() {
  local started record
  now_iso started
  ensure_dir "$STATE_DIR/daemons"
  DAEMON_RECORD=$STATE_DIR/daemons/$SID.json
  record=$(jq -nc --arg sid "$SID" --arg kind "$1" --argjson pid "$$" --argjson interval "$2" \
    --arg started "$started" --argjson until "$3" --arg server "$SERVER" --arg agent "$AGENT" \
    '{sessionId: $sid, kind: $kind, pid: $pid, interval: $interval, startedAt: $started,
      until: (if $until > 0 then ($until | todate) else null end), server: $server, agentId: $agent}')
  write_atomic "$DAEMON_RECORD" "$record"
}

# daemon_running PID KIND: is that process still the loop its record describes?
daemon_running() {
  local part
  kill -0 "$1" 2>/dev/null || return 1
  [[ -r /proc/$1/cmdline ]] || return 0
  local -a parts=()
  mapfile -d '' parts </proc/"$1"/cmdline 2>/dev/null || return 0
  for part in "${parts[@]}"; do [[ $part != "$2" ]] || return 0; done
  return 1
}

loop_prelude() { # loop_prelude USAGE: the session, its server and identity; refuse a second loop
  args_between 1 1 "$1"
  resolve_sid "${ARGS[0]}"
  pick_server "$SID"
  load_identity "$SID" required
  local f=$STATE_DIR/daemons/$SID.json pid kind
  if [[ -f $f ]] && read -r pid kind < <(jq -r '"\(.pid) \(.kind)"' "$f" 2>/dev/null) &&
    [[ $pid =~ ^[0-9]+$ ]] && daemon_running "$pid" "$kind"; then
    emit "$(jq -nc --arg sid "$SID" --argjson pid "$pid" --arg kind "$kind" \
      '{error: "a poll loop already runs for this session", sessionId: $sid, pid: $pid, kind: $kind}')"
    exit 1
  fi
}

cmd_poll_daemon() {
  loop_prelude "poll-daemon <SID> [--interval N] [--ttl N] [--yes]"
  local interval=${OPT_INTERVAL:-10} runtime=${OPT_TTL:-3600} answer=
  ((interval > 0)) || die "invalid --interval: 0" "poll at most once a second"
  ((runtime > 0)) || die "invalid --ttl: 0" "poll-daemon runs for --ttl seconds; heartbeat runs until stopped"
  if [[ -t 0 && ! -v OPT_YES ]]; then
    read -r -p "Poll $SID every ${interval}s for ${runtime}s in the foreground, printing each batch? [y/N] " answer || true
    [[ $answer == [yY]* ]] || die "cancelled"
  fi
  run_loop poll-daemon "$interval" "$runtime"
}

cmd_heartbeat() {
  loop_prelude "heartbeat <SID> [--interval N]"
  local interval=${OPT_INTERVAL:-30}
  ((interval > 0)) || die "invalid --interval: 0" "poll at most once a second"
  run_loop heartbeat "$interval" 0
}

cmd_poll_status() {
  args_between 0 0 "poll-status"
  local f pid kind record running sid dir cursor polled
  local -a lines=()
  for f in "$STATE_DIR"/daemons/*.json; do
    [[ -f $f ]] || continue
    read -r pid kind record < <(jq -r 'select(type == "object") | "\(.pid) \(.kind) \(tojson)"' "$f" 2>/dev/null) || continue
    running=false
    if [[ $pid =~ ^[0-9]+$ ]] && daemon_running "$pid" "$kind"; then running=true; fi
    lines+=("D"$'\t'"$record"$'\t'"$running")
  done
  local_sessions
  for sid in "${LOCAL_SIDS[@]}"; do
    session_dir dir "$sid"
    cursor='' polled=''
    [[ ! -f $dir/cursor ]] || { IFS= read -r cursor <"$dir/cursor"; } 2>/dev/null || true
    [[ ! -f $dir/last_poll ]] || { IFS= read -r polled <"$dir/last_poll"; } 2>/dev/null || true
    is_cursor "$cursor" || cursor=
    lines+=("S"$'\t'"$sid"$'\t'"$cursor"$'\t'"$polled")
  done
  aliases_file
  emit "$(printf '%s\n' "${lines[@]}" | jq -Rnc --slurpfile aliases "$ALIASES_FILE" "$JQ_NAMES"'
    | [inputs | select(. != "") | split("\t")] as $rows
    | ($rows | map(select(.[0] == "S") | {sessionId: .[1], alias: ($names[.[1]] // null),
        cursor: (if .[2] == "" then null else .[2] end), lastPolledAt: (if .[3] == "" then null else .[3] end)})) as $sessions
    | ($sessions | map({key: .sessionId, value: .lastPolledAt}) | from_entries) as $polled
    | ($rows | map(select(.[0] == "D") | (.[1] | fromjson) + {running: (.[2] == "true")})) as $daemons
    | {daemons: [$daemons[] | . + {alias: ($names[.sessionId] // null), lastPolledAt: ($polled[.sessionId] // null)}],
       sessions: [$sessions[] | .sessionId as $s
         | . + {loop: ([$daemons[] | select(.sessionId == $s and .running) | .kind][0] // null)}]}')"
}

usage() {
  cat >&2 <<EOF
nexus.sh $NEXUS_CLIENT_VERSION: the Nexus messaging client. JSON on stdout, everything else on stderr.

Sessions
  create [--ttl N] [--max-agents N] [--greeting T] [--creator-agent-id ID]
  status <SID>                         public state of a session
  join <SID> --agent-id ID [--webhook URL]
                                       join; saves agent, key and server
  leave <SID>                          leave; removes local state once the server confirms
  renew <SID> [--ttl N]                push the expiry back (and change the ttl)
  end <SID> [--reason TEXT]            end the session for every member (sends then refused)
  webhook <SID> [URL | --remove]       show, set or remove your webhook (new messages POSTed to URL)
Pairing
  pair <SID>                           a one-use code and link for another agent
  claim <CODE|LINK> --agent-id ID [--webhook URL]
                                       join through a code; saves agent, key and server
  pair-status <CODE|LINK>              pending, claimed or expired
Messages
  send <SID> TEXT... [--json PAYLOAD] [--strict] [--stdin]
                                       put -- before text that starts with a dash
  poll <SID> [--after C] [--members] [--wait S]
                                       from the saved cursor; --after 0 replays from the greeting
Loops
  poll-daemon <SID> [--interval 10] [--ttl 3600] [--yes]
  heartbeat <SID> [--interval 30]      poll until SIGINT / SIGTERM
  poll-status                          running loops, last poll of each session
Local sessions
  alias <SID> <NAME>, unalias <NAME>   an alias works wherever a SID does
  ls [--active] [--json]               local sessions and their status on their server
  poll-all [--active] [--members]      poll every (active) local session
  bind <SID>                           bind a session to the current server
Setup
  config set-url URL | show | unset    the default server
  doctor                               check servers, sessions and state files
  help

Flags anywhere on the line: --url URL --agent-id ID --ttl N --after C --greeting T --interval N
  --max-agents N --creator-agent-id ID --members. Server: --url > NEXUS_URL > config.json >
  $NEXUS_DEFAULT_URL; a session goes to the server it was joined on.
Environment: NEXUS_URL, NEXUS_HTTP_TIMEOUT (10 s), NEXUS_STATUS_TIMEOUT (3 s),
  NEXUS_RETRY_MAX (300 s, the longest wait before a loop retries), XDG_CONFIG_HOME.
State: $STATE_DIR
EOF
}

# ---------------------------------------------------------------------------------------------
# Start-up: dependencies (checked once, then remembered per curl/jq path), traps, dispatch.

check_dependencies() {
  local stamp curl_path jq_path version major minor recorded=
  ((BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 4))) ||
    fail '{"error":"nexus.sh needs bash 4.4 or newer"}'
  hash jq 2>/dev/null || fail '{"error":"missing dependency: jq","message":"install jq (apt-get install jq, brew install jq)"}'
  hash curl 2>/dev/null || die "missing dependency: curl" "install curl 7.76 or newer"
  hash flock 2>/dev/null && HAVE_FLOCK=1
  curl_path=${BASH_CMDS[curl]} jq_path=${BASH_CMDS[jq]}
  stamp="$curl_path $jq_path"
  [[ ! -f $STATE_DIR/cache/deps ]] || { IFS= read -r recorded <"$STATE_DIR/cache/deps"; } 2>/dev/null || true
  [[ $recorded != "$stamp" ]] && {
    version=$(curl --version 2>/dev/null) || die "missing dependency: curl (it does not run)"
    [[ $version =~ ^curl\ ([0-9]+)\.([0-9]+) ]] || die "missing dependency: curl (unknown version)"
    major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}
    ((major > 7 || (major == 7 && minor >= 76))) || die "curl 7.76 or newer is needed (found $major.$minor)"
    jq -n 1 >/dev/null 2>&1 || die "missing dependency: jq (it does not run)"
    ensure_dir "$STATE_DIR/cache"
    write_atomic "$STATE_DIR/cache/deps" "$stamp"
  }
  return 0
}

check_settings() {
  local name
  for name in NEXUS_HTTP_TIMEOUT NEXUS_STATUS_TIMEOUT NEXUS_LOCK_TIMEOUT NEXUS_RETRY_MAX; do
    is_timeout "${!name}" || die "invalid $name: ${!name}" "a number of seconds, such as 10"
  done
  local fraction=${NEXUS_RETRY_MAX#"${NEXUS_RETRY_MAX%.*}"}000
  RETRY_MAX_MS=$((10#${NEXUS_RETRY_MAX%.*} * 1000 + 10#${fraction:1:3}))
  is_seconds "$NEXUS_CAPS_TTL" || die "invalid NEXUS_CAPS_TTL: $NEXUS_CAPS_TTL"
  NEXUS_LOCK_TIMEOUT=${NEXUS_LOCK_TIMEOUT%.*}
  [[ -z $NEXUS_URL ]] || normalize_url NEXUS_URL "$NEXUS_URL" NEXUS_URL
  [[ -n ${XDG_CONFIG_HOME:-}${HOME:-} ]] || die "neither HOME nor XDG_CONFIG_HOME is set"
}

on_exit() {
  local status=$?
  # A failure bash itself stops on (an unset variable under set -u) still answers in JSON.
  if ((status != 0)) && [[ -z $EMITTED && $BASHPID == "$$" ]]; then
    printf '{"error":"internal error","message":"nexus.sh stopped unexpectedly (status %d)"}\n' "$status"
  fi
  [[ -z $TMP_PATH ]] || rm -f -- "$TMP_PATH"
  [[ -z $TMP_DIR ]] || rm -rf -- "$TMP_DIR"
  [[ -z $LOCK_DIR ]] || rm -rf -- "$LOCK_DIR"
  [[ -z $SLEEP_PID ]] || kill "$SLEEP_PID" 2>/dev/null || true
  if [[ -n $DAEMON_RECORD && -f $DAEMON_RECORD && $BASHPID == "$$" ]]; then rm -f -- "$DAEMON_RECORD"; fi
}

# Under set -e an unexpected failure would end the script silently: say so in JSON instead.
on_error() {
  local status=$1 line=$2
  [[ $BASHPID == "$$" ]] || exit "$status"
  [[ -n $EMITTED ]] || printf '{"error":"internal error","message":"nexus.sh stopped at line %d (status %d)"}\n' "$line" "$status"
  EMITTED=1
  exit 1
}

on_signal() {
  [[ -n $EMITTED ]] || emit '{"error":"interrupted"}'
  EMITTED=1
  exit 1
}

main() {
  export TZ=UTC0 LC_ALL=C
  shopt -s lastpipe   # `jq ... | http ...` runs http in this shell, so what it sets stays
  trap on_exit EXIT
  trap on_signal INT TERM
  set -E
  trap 'on_error $? $LINENO' ERR
  parse_args "$@"
  if [[ -v OPT_HELP || $CMD == help ]]; then
    usage
    return 0
  fi
  check_settings
  check_dependencies
  # One dispatch: command `some-name` is the function cmd_some_name, so a new command is its
  # function and its line in usage, nothing more.
  if [[ -z $CMD ]]; then
    usage
    die "missing command" "run nexus.sh help"
  fi
  local handler=cmd_${CMD//-/_}
  if [[ $CMD == *[!a-z-]* ]] || ! declare -F "$handler" >/dev/null; then die "unknown command: $CMD" "run nexus.sh help"; fi
  "$handler"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
