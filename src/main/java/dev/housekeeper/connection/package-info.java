/**
 * ClickHouseConnection: its reconciler (probes endpoints, detects capabilities, reports health),
 * the translation of its spec and Secret into a client configuration, and the registry of clients
 * that every other kind uses to reach ClickHouse.
 */
package dev.housekeeper.connection;
