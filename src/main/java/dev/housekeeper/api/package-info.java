/**
 * The resource model of Housekeeper: spec and status classes of every kind in the API group
 * {@code housekeeper.dev}, version {@code v1alpha1}. This package is the only input of the CRD
 * generator; it holds no operator logic.
 */
package dev.housekeeper.api;
