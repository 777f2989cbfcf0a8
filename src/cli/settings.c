/*
 * settings.c - `tradedesk settings`: the table of TRADEDESK_* settings
 * (core/config.c) as markdown, the source of README.md's configuration
 * table (tests/check-settings.sh keeps the two in step).
 *
 * Prints defaults, never the values in force: a secret must not reach a
 * terminal or a log by way of documentation.
 */
#include <stdio.h>

#include "cli/cli.h"

int cli_settings(const td_config *cfg, int argc, char **argv)
{
    (void)cfg;
    (void)argv;
    if (argc > 0)
        return cli_usage_error("usage: tradedesk settings");
    td_config_print_markdown(stdout);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
