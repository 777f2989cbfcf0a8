/*
 * main.c - `tradedesk`, the admin CLI: reads the TRADEDESK_* settings the
 * way every program does (td_config_read: TRADEDESK_ENV_FILE, then the
 * environment) and dispatches to a command from one table.
 *
 * Commands live in their own files; this one only routes and must never
 * touch the database itself.  Exit codes: 0 done, 1 failed, 2 bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"

static const char usage[] =
    "usage: tradedesk <command> [arguments]\n"
    "\n"
    "commands:\n"
    "  migrate                       apply the sql/NNN_*.sql migrations not yet applied\n"
    "  user add NAME [--role admin]  create a user (role user unless --role admin) with\n"
    "                                an empty account; the password is the first line of stdin\n"
    "  user disable NAME             refuse NAME's logins and end their sessions\n"
    "  user enable NAME              allow NAME to log in again (ended sessions stay ended)\n"
    "  user role NAME user|admin     change NAME's role; a change ends their sessions\n"
    "  token NAME [--ttl SECONDS]    start a session for NAME and print its access token\n"
    "                                (default lifetime TRADEDESK_JWT_TTL)\n"
    "  seed demo                     create users alice, bob and admin (password\n"
    "                                TRADEDESK_DEMO_PASSWORD) and load sql/seed_demo.sql;\n"
    "                                local runs only\n"
    "  cache invalidate NAME         make NAME's cached API responses stale at once\n"
    "  feed test --exchange binance|coinbase|kraken --symbol BTC-USDT [--url ws://...]\n"
    "            [--duration SECONDS] [--redis]\n"
    "                                connect to a venue as the engine does (URL default\n"
    "                                TRADEDESK_<VENUE>_WS_URL), subscribe, and report status,\n"
    "                                events per kind and per second, and latency; --redis\n"
    "                                also PINGs Redis; exit 1 when no market event arrived\n"
    "  recon import NAME FILE [--venue binance]\n"
    "                                store an exchange statement (Binance's Trade History\n"
    "                                CSV) as the venue's view of NAME's trades, which the\n"
    "                                engine's reconciliation compares with NAME's fills\n"
    "  settings                      print every TRADEDESK_* setting as a markdown table\n"
    "  help                          show this text\n"
    "\n"
    "Settings are the TRADEDESK_* variables `tradedesk settings` lists (programs: cli),\n"
    "read from the file named by TRADEDESK_ENV_FILE, then from the environment; the\n"
    "file wins.\n";

/* What a command needs read before it runs: only commands that sign tokens
 * need TRADEDESK_JWT_SECRET, and printing the table needs no settings. */
enum { NO_CONFIG, CONFIG, CONFIG_AND_SECRET };

static const struct command {
    const char *name;
    int needs;
    int (*run)(const td_config *cfg, int argc, char **argv);
} commands[] = {
    {"migrate", CONFIG, cli_migrate},
    {"user", CONFIG, cli_user},
    {"token", CONFIG_AND_SECRET, cli_token},
    {"seed", CONFIG, cli_seed},
    {"cache", CONFIG, cli_cache},
    {"feed", CONFIG, cli_feed},
    {"recon", CONFIG, cli_recon},
    {"settings", NO_CONFIG, cli_settings},
};

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        fputs(usage, stdout);
        return CLI_EXIT_OK;
    }

    const struct command *cmd = NULL;
    for (size_t i = 0; i < TD_ARRAY_LEN(commands); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            cmd = &commands[i];
    if (!cmd) {
        fprintf(stderr, "tradedesk: unknown command '%s'\n\n%s", argv[1], usage);
        return CLI_EXIT_USAGE;
    }

    if (cmd->needs == NO_CONFIG)
        return cmd->run(NULL, argc - 2, argv + 2);

    td_config cfg;
    char err[512];
    if (td_config_read(&cfg, TD_PROG_CLI, cmd->needs == CONFIG_AND_SECRET, err, sizeof err) !=
        TD_OK) {
        cli_fail("%s", err);
        return CLI_EXIT_FAIL;
    }
    /* A command says what it did in its own words (stdout, or one line on
     * stderr); the shared code's info lines ("redis: connected") would only
     * be noise around a token someone pipes into a script. */
    td_log_init("tradedesk", cfg.log_level > TD_LOG_WARN ? cfg.log_level : TD_LOG_WARN);

    int rc = cmd->run(&cfg, argc - 2, argv + 2);
    explicit_bzero(&cfg, sizeof cfg);
    return rc;
}
