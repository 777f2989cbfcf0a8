# components/nginx.sh - the stack's nginx (sourced by src/run/stack.sh).
#
# Listens on 127.0.0.1:$HTTP_PORT only.  VAR/nginx.conf is generated from
# nginx/local.conf.in on every start: /api/, /health and /metrics go over
# FastCGI to the api's socket ($FCGI_LISTEN), /ws to the stream's unix socket
# ($RUN/stream.sock; the stream's TCP port, 127.0.0.1:$WS_PORT, serves its
# /health and /metrics and direct clients).  Temp files in VAR/nginx, logs in VAR/log; workers run as
# $NGINX_USER:$NGINX_GROUP (www-data when started as root), the group the
# api's socket is given.  With TRADEDESK_API_TRANSPORT=own the FastCGI
# connections are kept alive (upstream keepalive, fastcgi_keep_conn).  A query string carrying access_token is refused
# (400) and never written to the access log (nginx/local.conf.in).  TD_NGINX_WORKERS (2) workers of
# TD_NGINX_CONNECTIONS (1024) connections each; TRADEDESK_METRICS_ALLOW
# adds who may scrape /metrics besides loopback.
#
# Hooks: nginx_start nginx_stop nginx_ready nginx_status nginx_env.
# shellcheck shell=bash

NGINX_CONF=$VAR/nginx.conf

nginx_pid() { read_pid "$RUN/nginx.pid"; }

nginx_status() { status_line nginx "$(nginx_pid)" '^nginx$'; }

# The ports are the caller's choice, not wiring: nothing to export.
nginx_env() { :; }

# Answers at all (any HTTP status): the api behind it may still be down.
nginx_ready() {
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$HTTP_PORT/") || true
    [ -n "$code" ] && [ "$code" != 000 ]
}

nginx_write_conf() {
    local tmpl=$ROOT/nginx/local.conf.in user_line=""
    [ -f "$tmpl" ] || die "missing $tmpl"
    # Its group is the one the api gives its socket (TRADEDESK_FCGI_GROUP).
    [ -n "$NGINX_USER" ] && user_line="user $NGINX_USER $NGINX_GROUP;"
    # TRADEDESK_METRICS_ALLOW: a space-separated list of addresses or CIDR
    # networks, checked here so a typo is not an nginx syntax error.
    local metrics_allow="" net
    for net in ${TRADEDESK_METRICS_ALLOW:-}; do
        [[ $net =~ ^[0-9a-fA-F:.]+(/[0-9]{1,3})?$ ]] || die "TRADEDESK_METRICS_ALLOW: '$net' is not an address or CIDR network"
        metrics_allow+="allow $net; "
    done
    # TD_NGINX_CONNECTIONS: worker_connections (client and upstream
    # connections alike) and a descriptor each, plus files, within the hard
    # limit we may raise to.
    local conns=${TD_NGINX_CONNECTIONS:-1024} nofile hard
    [[ $conns =~ ^[1-9][0-9]{0,6}$ ]] || die "TD_NGINX_CONNECTIONS: '$conns' is not a positive number"
    nofile=$((conns + 256))
    hard=$(ulimit -Hn)
    [ "$hard" = unlimited ] || [ "$nofile" -le "$hard" ] || nofile=$hard
    # Kept-alive FastCGI connections only where the API's master holds them.
    local keepalive="" keep_conn=""
    if [ "${TRADEDESK_API_TRANSPORT:-own}" = own ]; then
        keepalive="keepalive 32;"
        keep_conn="fastcgi_keep_conn on;"
    fi
    sed -e "s|@VAR@|$VAR|g" \
        -e "s|@API_KEEPALIVE@|$keepalive|g" \
        -e "s|@API_KEEP_CONN@|$keep_conn|g" \
        -e "s|@METRICS_ALLOW@|$metrics_allow|g" \
        -e "s|@USER_LINE@|$user_line|g" \
        -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
        -e "s|@WS_PORT@|$WS_PORT|g" \
        -e "s|@WS_UPSTREAM@|unix:$RUN/stream.sock:|g" \
        -e "s|@API_UPSTREAM@|unix:$FCGI_LISTEN|g" \
        -e "s|@WORKERS@|${TD_NGINX_WORKERS:-2}|g" \
        -e "s|@WORKER_CONNECTIONS@|$conns|g" \
        -e "s|@WORKER_NOFILE@|$nofile|g" \
        "$tmpl" >"$NGINX_CONF.tmp"
    cp "$ROOT/nginx/errors.conf" "$VAR/errors.conf" # local.conf.in includes it
    mv "$NGINX_CONF.tmp" "$NGINX_CONF"
}

nginx_start() {
    command -v nginx >/dev/null || die "nginx not found (run src/run/install-deps.sh)"
    prepare_dirs
    mkdir -p "$VAR/nginx"
    if alive_as "$(nginx_pid)" '^nginx$'; then
        say "nginx already running"
        return 0
    fi
    if port_in_use "$HTTP_PORT"; then
        die "127.0.0.1:$HTTP_PORT is already in use by another program; set TRADEDESK_HTTP_PORT"
    fi
    nginx_write_conf
    local nlog=$LOG/nginx-error.log
    # nginx's own startup messages go to the log it is told to use (-e).
    # shellcheck disable=SC2094
    nginx -q -t -p "$VAR/" -e "$nlog" -c "$NGINX_CONF" >>"$nlog" 2>&1 ||
        fail_start "nginx (config test of $NGINX_CONF)" "$nlog"
    # shellcheck disable=SC2094
    nginx -p "$VAR/" -e "$nlog" -c "$NGINX_CONF" >>"$nlog" 2>&1 || fail_start "nginx" "$nlog"
    wait_until "nginx" "$nlog" nginx_ready
}

nginx_stop() {
    stop_daemon "$(nginx_pid)" '^nginx$' TERM 10 nginx
    rm -f "$RUN/nginx.pid"
}
