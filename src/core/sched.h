/*
 * sched.h - a latency-critical program's own CPU scheduling
 * (TRADEDESK_RT_PRIORITY).
 *
 * Under Linux's normal scheduler a process woken on a core whose current
 * task is still inside its slice waits for that task to block or for the
 * next scheduler tick: up to 4 ms on a kernel built with HZ=250.  The
 * engine and the stream spend their lives woken by a socket, so on a
 * machine where they share the cores with anything busy that wait is
 * their latency's tail (docs/performance.md, "Real-time scheduling").
 * Under SCHED_FIFO a woken task takes a core from any normal one at once.
 *
 * td_sched_realtime(prio) puts the calling thread, and so every thread it
 * creates afterwards, under SCHED_FIFO at prio (1-99); 0 asks for nothing.
 * (Not with SCHED_RESET_ON_FORK: Linux resets a new thread too, not only a
 * new process.  The one process these programs fork, a PostgreSQL cancel
 * request, lives a moment.)  It needs CAP_SYS_NICE (root, or an
 * RLIMIT_RTPRIO of at least prio, systemd's LimitRTPRIO=): refused, the
 * program logs a warning and runs under the normal scheduler.  The kernel's real-time throttle
 * (sched_rt_runtime_us, 95% by default) still leaves normal tasks a share
 * of each core should a bug ever spin the loop.
 *
 * td_sched_priority() reads back what the kernel applies now (0: the
 * normal scheduler), for /metrics.
 */
#ifndef TD_CORE_SCHED_H
#define TD_CORE_SCHED_H

void td_sched_realtime(int prio);

int td_sched_priority(void);

#endif
