/**
 * RetentionPolicy. The reconciler ({@code RetentionPolicyReconciler}, on {@code ConnectedReconciler})
 * and its parts by role: {@code RetentionValidation} (spec checks), {@code RetentionTiming} (what is
 * due, when to look again), {@code RetentionStart} (the work and its typed results),
 * {@code RetentionOutcome} (a finished run folded into status), {@code RetentionPreview} (preview,
 * statistics and health between runs). The planner ({@code RetentionPlanner} with
 * {@code RetentionCatalog}, {@code DropPlanner}, {@code RowPlanner}: what a run would remove), the
 * statements ({@code RetentionSql}) and the runners ({@code RetentionRunner}, {@code ClusterRetention}:
 * DROP PARTITION, DELETE mutations with their wait, TTL, OPTIMIZE).
 */
package dev.housekeeper.retention;
