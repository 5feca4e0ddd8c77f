/**
 * The ClickHouse client layer: the only code that talks to ClickHouse. It speaks the HTTP
 * interface through the official {@code com.clickhouse:client-v2} client, reading results in
 * explicit portable formats (JSONEachRow, Native, TabSeparated) so that it works alike on 18.16
 * and on current servers. It owns endpoint choice and failover, retry of safe errors, one circuit
 * breaker per endpoint, query ids and cancellation, typed errors, identifier quoting and literal
 * rendering.
 */
package dev.housekeeper.clickhouse;
