/**
 * The error every configuration check throws, here so that the checks (in middleware) and
 * the CLI that reports them (one line at the caller's call) share one definition.
 */

/** The `code` every {@link ConfigError} carries (Node's `err.code` convention). */
export const CONFIG_ERROR_CODE = 'ERR_MORTAR_CONFIG';

/**
 * A mistake in how mortar is configured — an unknown option, a bad option value, a missing
 * secret — thrown when the middleware is built, never while it serves. It is a `TypeError`
 * (what these checks threw before) marked with `code: 'ERR_MORTAR_CONFIG'`: `mortar serve`
 * reports one such error as one line naming the caller's file and line, where any other
 * error shows its stack. Recognise it by the code (`isConfigError`), not `instanceof`: a
 * checkout or a bundle can hold two copies of this class.
 */
export class ConfigError extends TypeError {
  readonly code = CONFIG_ERROR_CODE;

  override get name(): string {
    return 'ConfigError';
  }
}

/** Whether `error` is a {@link ConfigError} from any copy of mortar (it checks the code). */
export function isConfigError(error: unknown): error is ConfigError {
  return error instanceof Error && (error as { code?: unknown }).code === CONFIG_ERROR_CODE;
}
