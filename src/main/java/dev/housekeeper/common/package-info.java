/** Helpers shared by every resource kind: conditions, durations, events, metrics. */
package dev.housekeeper.common;
