/* sched.c - see sched.h. */
#include "core/sched.h"
#include "core/log.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

void td_sched_realtime(int prio)
{
    if (prio <= 0)
        return;
    struct sched_param sp = {.sched_priority = prio};
    if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) {
        td_warn("TRADEDESK_RT_PRIORITY=%d refused (%s): running under the normal scheduler",
                prio, strerror(errno));
        return;
    }
    td_info("running under SCHED_FIFO at priority %d", prio);
}

int td_sched_priority(void)
{
    int policy = sched_getscheduler(0) & ~SCHED_RESET_ON_FORK;
    struct sched_param sp;
    if ((policy != SCHED_FIFO && policy != SCHED_RR) || sched_getparam(0, &sp) != 0)
        return 0;
    return sp.sched_priority;
}
