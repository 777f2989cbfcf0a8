/*
 * log.h - JSON log lines on stderr, one event per line.
 *
 * Every line carries time (RFC 3339 UTC, ms), level, program and pid; callers
 * add a message and optionally pre-rendered JSON fields.
 */
#ifndef TD_LOG_H
#define TD_LOG_H

#include <stddef.h>

enum { TD_LOG_DEBUG = 0, TD_LOG_INFO, TD_LOG_WARN, TD_LOG_ERROR };

void td_log_init(const char *program, int level);
/* In a child after fork(): log lines carry its own pid. */
void td_log_forked(void);
void td_log_set_level(int level);
/* Whether a line at level would be written (to skip work for it). */
int td_log_enabled(int level);
int td_log_level_parse(const char *s); /* -1 when unknown */

/* Every log line of this thread carries "trace_id" (32 hex digits, as
 * core/trace.h) from here until td_log_set_trace(NULL). */
void td_log_set_trace(const char *trace_id);

/* printf-style message, JSON-escaped into "msg". */
void td_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* msg plus extra fields already rendered as `"k":v,"k2":v2` (no braces). */
void td_log_fields(int level, const char *msg, const char *fields);

/* Append s JSON-escaped (without quotes) to buf at *len, never past cap-1. */
void td_json_escape(char *buf, size_t cap, size_t *len, const char *s);

#define td_debug(...) td_log(TD_LOG_DEBUG, __VA_ARGS__)
#define td_info(...) td_log(TD_LOG_INFO, __VA_ARGS__)
#define td_warn(...) td_log(TD_LOG_WARN, __VA_ARGS__)
#define td_error(...) td_log(TD_LOG_ERROR, __VA_ARGS__)

#endif
