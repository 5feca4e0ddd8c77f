/** Backups and restores (ClickHouseBackup, ClickHouseRestore). So far: the object storage layer. */
package dev.housekeeper.backup;
