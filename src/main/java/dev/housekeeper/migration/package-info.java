/**
 * ClickHouseMigration: collecting migrations (inline and from ConfigMaps), splitting scripts into
 * statements, the ledger and the lock kept in ClickHouse, the runner that applies and rolls back,
 * and the reconciler.
 */
package dev.housekeeper.migration;
