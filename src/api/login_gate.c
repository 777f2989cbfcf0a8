/*
 * login_gate.c - the one gate of password verifications; see login_gate.h.
 */
#include "api/login_gate.h"
#include "core/gate.h"

static td_gate *g_gate; /* set in the master before fork, shared after */

td_status td_login_gate_init(int limit)
{
    if (!g_gate)
        g_gate = td_gate_create(limit);
    else
        td_gate_set_limit(g_gate, limit);
    return g_gate ? TD_OK : TD_ENOMEM;
}

void td_login_gate_set_limit(int limit)
{
    td_gate_set_limit(g_gate, limit);
}

void td_login_gate_reaped(pid_t pid)
{
    td_gate_forget_pid(g_gate, pid);
}

int td_login_gate_enter(void)
{
    return td_gate_enter(g_gate);
}

void td_login_gate_leave(int seat)
{
    td_gate_leave(g_gate, seat);
}

const char *td_login_gate_metrics(td_arena *a)
{
    if (!g_gate)
        return "";
    return td_arena_printf(
        a,
        "# HELP tradedesk_login_verifications_in_flight Password verifications running now, "
        "over all workers.\n"
        "# TYPE tradedesk_login_verifications_in_flight gauge\n"
        "tradedesk_login_verifications_in_flight %d\n"
        "# HELP tradedesk_login_verifications_peak The most password verifications that ran at "
        "once since the master started.\n"
        "# TYPE tradedesk_login_verifications_peak gauge\n"
        "tradedesk_login_verifications_peak %d\n"
        "# HELP tradedesk_login_verifications_limit Password verifications allowed at once "
        "(TRADEDESK_LOGIN_VERIFY_MAX).\n"
        "# TYPE tradedesk_login_verifications_limit gauge\n"
        "tradedesk_login_verifications_limit %d\n",
        td_gate_in_flight(g_gate), td_gate_peak(g_gate), td_gate_limit(g_gate));
}
