#!/usr/bin/env bash
# API keys bound to a tenant and a role: `helix keys add` prints a key once
# and stores only its SHA-256; the key's tenant is the request's tenant; only
# admin keys name another tenant; roles are enforced with 403 envelopes;
# server.token is an admin key of the default tenant; keys added or revoked
# while the server runs take effect at once; a bad keys file is refused at
# startup with its line. Protected helixagent.* topics need force to delete.
set -u
. "$(dirname "$0")/lib/common.sh"
base=$(hx_tmpdir keys); HX_CLEAN_DIRS+=("$base")
D=$base/data

key() { "$HELIX_BIN" keys add --data-dir "$D" --tenant "$1" --role "$2" 2>"$base/add.err"; }
W=$(key acme writer); R=$(key acme reader); A=$(key ops admin); B=$(key beta writer)
contains "key printed" "$W" "hxk_"
contains "add says it is shown once" "$(cat "$base/add.err")" "shown once"
lacks "file holds no key" "$(cat "$D/api_keys")" "$W"
contains "file holds the hash" "$(cat "$D/api_keys")" "$(printf %s "$W" | sha256sum | cut -c1-64)"
list=$("$HELIX_BIN" keys list --data-dir "$D")
contains "list shows tenant" "$list" "acme"
lacks "list shows no key" "$list" "$W"

start "$D" "$base/s.log" HELIX_SERVER_TOKEN=tok || { echo "0 passed, 1 failed"; exit 1; }
U=http://127.0.0.1:$PORT
c() { local k=$1; shift; code -H "Authorization: Bearer $k" "$@"; }
b() { local k=$1; shift; body -H "Authorization: Bearer $k" "$@"; }

expect "no key" 401 "$(code "$U/v1/memory")"
expect "unknown key" 401 "$(c hxk_nope "$U/v1/memory")"
contains "401 envelope" "$(b hxk_nope "$U/v1/memory")" '"code":"unauthorized"'
expect "health is public" 200 "$(code "$U/health")"

# The key's tenant is the request's tenant.
expect "writer creates" 201 "$(c "$W" -X POST "$U/v1/memory" -d '{"id":"m1","user_id":"u1","content":"acme secret"}')"
contains "writer reads own" "$(b "$W" "$U/v1/memory")" '"acme secret"'
contains "reader reads tenant" "$(b "$R" "$U/v1/memory")" '"acme secret"'
lacks "other tenant sees nothing" "$(b "$B" "$U/v1/memory")" 'acme secret'
expect "other tenant 404" 404 "$(c "$B" "$U/v1/memory/m1")"
expect "own tenant header ok" 200 "$(c "$W" -H 'X-Helix-Tenant: acme' "$U/v1/memory/m1")"
r=$(b "$W" -w ' %{http_code}' -H 'X-Helix-Tenant: beta' "$U/v1/memory")
contains "writer cannot pick a tenant" "$r" ' 403'
contains "403 envelope" "$r" '"code":"forbidden"'
contains "403 says why" "$r" "only admin keys"
contains "admin acts for acme" "$(b "$A" -H 'X-Helix-Tenant: acme' "$U/v1/memory")" '"acme secret"'
lacks "admin's own tenant is ops" "$(b "$A" "$U/v1/memory")" 'acme secret'
contains "token is admin of default" "$(b tok -H 'X-Helix-Tenant: acme' "$U/v1/memory")" '"acme secret"'
lacks "token tenant is default" "$(b tok "$U/v1/memory")" 'acme secret'

# Roles: readers read (search is a reading POST), writers write, admins manage.
r=$(b "$R" -w ' %{http_code}' -X POST "$U/v1/memory" -d '{"user_id":"u1","content":"x"}')
contains "reader cannot write" "$r" ' 403'
contains "reader 403 names the role" "$r" 'needs the writer role'
expect "reader searches" 200 "$(c "$R" -X POST "$U/v1/memory/search" -d '{"query":"secret"}')"
expect "writer cannot create topics" 403 "$(c "$W" -X POST "$U/v1/topics" -d '{"name":"t1"}')"
expect "admin creates topics" 201 "$(c "$A" -X POST "$U/v1/topics" -d '{"name":"t1","partitions":2}')"
expect "writer cannot delete topics" 403 "$(c "$W" -X DELETE "$U/v1/topics/t1")"
expect "writer cannot list groups" 403 "$(c "$W" "$U/v1/groups")"
expect "admin lists groups" 200 "$(c "$A" "$U/v1/groups")"
expect "writer cannot force sync" 403 "$(c "$W" -X POST "$U/v1/memory/sync/force")"

# Figures that count every tenant are for admins.
t=$(b "$W" "$U/v1/topics/t1")
contains "writer sees topic config" "$t" '"partitions":2'
lacks "writer sees no watermarks" "$t" 'partition_info'
contains "admin sees watermarks" "$(b "$A" "$U/v1/topics/t1")" 'partition_info'
s=$(b "$W" "$U/v1/memory/sync/status")
contains "status scoped" "$s" '"scope":"tenant"'
contains "status counts own tenant" "$s" '"memories":1'
lacks "status hides node counters" "$s" 'events_published'
contains "admin status is the node's" "$(b "$A" "$U/v1/memory/sync/status")" 'events_published'

# Records: a tenant reads only its own envelopes.
expect "writer posts records" 201 "$(c "$W" -X POST "$U/v1/topics/t1/records" -d '{"records":[{"type":"x.y","key":"k","data":{"n":1}}]}')"
p=$(b "$W" "$U/v1/topics/t1/records?partition=0" | grep -c '"n":1'; b "$W" "$U/v1/topics/t1/records?partition=1" | grep -c '"n":1')
contains "own record visible" "$p" "1"
q=$(b "$B" "$U/v1/topics/t1/records?partition=0"; b "$B" "$U/v1/topics/t1/records?partition=1")
lacks "other tenant's record invisible" "$q" '"n":1'

# Keys take effect and stop working without a restart.
N=$(key beta reader)
expect "new key works at once" 200 "$(c "$N" "$U/v1/memory")"
id=$("$HELIX_BIN" keys list --data-dir "$D" | awk '$2=="beta" && $3=="reader" {print $1}')
"$HELIX_BIN" keys revoke --data-dir "$D" "$id" >/dev/null
expect "revoked key refused" 401 "$(c "$N" "$U/v1/memory")"
expect "other keys still work" 200 "$(c "$W" "$U/v1/memory")"
cp "$D/api_keys" "$base/keys.good"
echo "garbage line" >> "$D/api_keys"
expect "bad file keeps old keys" 200 "$(c "$W" "$U/v1/memory")"
contains "bad file logged" "$(cat "$base/s.log")" "previous keys stay in force"
cp "$base/keys.good" "$D/api_keys"
expect "restored file works" 200 "$(c "$W" "$U/v1/memory")"
# Seen through the directory watch: a removed file, then one moved into place.
mv "$D/api_keys" "$base/keys.moved"
expect "removed file: key refused" 401 "$(c "$W" "$U/v1/memory")"
expect "removed file: token still works" 200 "$(c tok "$U/v1/memory")"
mv "$base/keys.moved" "$D/api_keys"
expect "file moved back: key works" 200 "$(c "$W" "$U/v1/memory")"

# Protected topics.
r=$(b "$A" -w ' %{http_code}' -X DELETE "$U/v1/topics/helixagent.conversations")
contains "protected topic refused" "$r" ' 403'
contains "protected says force" "$r" 'force=true'
expect "unprotected topic deletes" 200 "$(c "$A" -X DELETE "$U/v1/topics/t1")"
expect "force deletes" 200 "$(c "$A" -X DELETE "$U/v1/topics/helixagent.learning.insights?force=true")"
h=$(b "$A" "$U/v1/bigdata/health")
contains "health names the missing topic" "$h" 'missing (deleted while running'
contains "health degraded" "$h" '"status":"degraded"'
kill -TERM "$PID"; wait "$PID"; expect "clean shutdown" 0 $?

# Restart: the topic is recreated empty, and health and the log say so.
start "$D" "$base/s2.log" HELIX_SERVER_TOKEN=tok || { finish; }
U=http://127.0.0.1:$PORT
contains "log says recreated empty" "$(cat "$base/s2.log")" "helixagent.learning.insights existed at the last start and is gone"
contains "health says recreated" "$(b tok "$U/v1/bigdata/health")" 'recreated empty at startup'
contains "keys survive restart" "$(b "$W" "$U/v1/memory")" '"acme secret"'
kill -TERM "$PID"; wait "$PID" 2>/dev/null

# CLI: protected topics need --force.
r=$("$HELIX_BIN" topic delete --data-dir "$D" helixagent.dlq 2>&1); rc=$?
expect "cli refuses protected" 2 "$rc"
contains "cli says --force" "$r" "--force"
expect "cli force deletes" 0 "$("$HELIX_BIN" topic delete --force --data-dir "$D" helixagent.dlq >/dev/null 2>&1; echo $?)"

# A malformed keys file stops the server at startup, naming the line.
echo "zz acme writer 1" >> "$D/api_keys"
out=$("$HELIX_BIN" serve --data-dir "$D" --port 0 2>&1); rc=$?
expect "bad keys file exit" 2 "$rc"
contains "bad keys file names line" "$out" "api_keys:"
finish
