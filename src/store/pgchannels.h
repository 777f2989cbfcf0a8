/*
 * pgchannels.h - every PostgreSQL LISTEN/NOTIFY channel tradedesk uses,
 * named once (Redis channels are in keys.h).  A channel name is a contract
 * with the triggers in sql/ that NOTIFY on it: change both or neither.
 * Nothing here allocates.
 */
#ifndef TD_STORE_PGCHANNELS_H
#define TD_STORE_PGCHANNELS_H

/* conditional_orders inserts and status changes (sql/006's
 * conditional_orders_notify), delivered at commit.  Payload, JSON:
 * {"id":"<order id>","user_id":"<id>","symbol":"BTC-USDT",
 *  "status":"active","op":"insert"|"update"}.
 * For the engine's monitor: LISTEN, then resync from the table, so nothing
 * committed between its load and its LISTEN is missed. */
#define TD_PG_CHANNEL_ORDERS "td_orders"

#endif
