/** Dependency-injection tokens provided by ServiceKitModule to every service. */
export const MESH_BUS = Symbol('MESH_BUS');
export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');
export const LOGGER = Symbol('LOGGER');
export const METRICS = Symbol('METRICS');
export const HEALTH = Symbol('HEALTH');
export const DATA_SOURCE = Symbol('DATA_SOURCE');
/** Whether this replica is the active one of a singleton service (Leadership). */
export const LEADERSHIP = Symbol('LEADERSHIP');
/** The live runtime feature flags (FlagStore). */
export const FLAGS = Symbol('FLAGS');
