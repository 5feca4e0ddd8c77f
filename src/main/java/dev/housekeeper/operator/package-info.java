/** The operator process: configuration from the environment, start-up, HTTP endpoints, leader election. */
package dev.housekeeper.operator;
