/*
 * log.c - structured JSON logs on stderr.
 *
 * One write(2) per line so lines from forked workers never interleave.
 */
#include "core/log.h"
#include "core/clock.h"
#include "core/jsonw.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <unistd.h>

static const char *g_program = "tradedesk";
static pid_t g_pid; /* cached: getpid() is a system call per log line */
static int g_level = TD_LOG_INFO;
static _Thread_local char g_trace[33]; /* "" when none */
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void td_log_init(const char *program, int level)
{
    g_program = program;
    g_level = level;
    g_pid = getpid();
}

void td_log_forked(void)
{
    g_pid = getpid();
}

void td_log_set_level(int level)
{
    g_level = level;
}

int td_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void td_json_escape(char *buf, size_t cap, size_t *len, const char *s)
{
    size_t n = *len;
    /* Room for the longest escape and the NUL before each byte. */
    for (const unsigned char *p = (const unsigned char *)s; *p && n + TD_JSON_ESC_MAX + 1 < cap;
         p++) {
        size_t el = td_json_escape_byte(*p, buf + n);
        if (el)
            n += el;
        else
            buf[n++] = (char)*p;
    }
    if (n < cap)
        buf[n] = '\0';
    *len = n;
}

int td_log_enabled(int level)
{
    return level >= g_level;
}

void td_log_set_trace(const char *trace_id)
{
    if (trace_id)
        snprintf(g_trace, sizeof g_trace, "%s", trace_id);
    else
        g_trace[0] = '\0';
}

void td_log_fields(int level, const char *msg, const char *fields)
{
    if (level < g_level)
        return;
    char line[4096], ts[TD_RFC3339_MS_LEN + 8];
    td_rfc3339_ms(td_wall_ms(), ts, sizeof ts);
    size_t n = (size_t)snprintf(line, sizeof line,
                                "{\"time\":\"%s\",\"level\":\"%s\",\"program\":\"%s\",\"pid\":%d,"
                                "\"msg\":\"",
                                ts, level_names[level], g_program, (int)(g_pid ? g_pid : getpid()));
    td_json_escape(line, sizeof line - 4, &n, msg);
    line[n++] = '"';
    if (g_trace[0] && n + 48 < sizeof line)
        n += (size_t)snprintf(line + n, sizeof line - n, ",\"trace_id\":\"%s\"", g_trace);
    if (fields && *fields) {
        size_t fl = strlen(fields);
        if (n + fl + 3 < sizeof line) {
            line[n++] = ',';
            memcpy(line + n, fields, fl);
            n += fl;
        }
    }
    line[n++] = '}';
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}

void td_log(int level, const char *fmt, ...)
{
    if (level < g_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    td_log_fields(level, msg, NULL);
}
