/**
 * RetentionPolicy: the planner (what a run would remove, from system.parts, and storage
 * statistics), the runner (DROP PARTITION, DELETE mutations with their wait, TTL, OPTIMIZE) and
 * the reconciler.
 */
package dev.housekeeper.retention;
