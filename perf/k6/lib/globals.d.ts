/**
 * Globals k6 provides that @types/k6 does not declare (it leaves `console` to lib.dom, which does
 * not describe k6's runtime). Only what the scripts use.
 */
declare global {
  /** k6's console: each method logs its arguments at the level of its name. */
  var console: {
    log(...args: unknown[]): void;
    info(...args: unknown[]): void;
    warn(...args: unknown[]): void;
    error(...args: unknown[]): void;
    debug(...args: unknown[]): void;
  };
}

export {};
