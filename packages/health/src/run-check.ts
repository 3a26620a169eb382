import { performance } from 'node:perf_hooks';
import type { CheckFunction, CheckReturn, HealthStatus } from './types';

/** One completed run of a check, normalised. */
export interface RunResult {
  status: HealthStatus;
  observedValue: number | string | undefined;
  observedUnit: string | undefined;
  output: string | undefined;
  durationMs: number;
  /** Epoch ms when the run completed. */
  epochMs: number;
  /** ISO 8601 form of `epochMs`, computed once. */
  time: string;
}

const MAX_OUTPUT = 500;
const STATUS_ALIASES: Record<string, HealthStatus> = {
  pass: 'pass', ok: 'pass', up: 'pass',
  warn: 'warn',
  fail: 'fail', error: 'fail', down: 'fail',
};

/**
 * Credentials in URLs (`postgres://user:secret@host`) never reach an output. The user-info runs
 * to the last `@` before the path, so a password containing `@` is masked whole.
 */
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)[^\s/]*@/gi;

/** Makes an error or text safe to show to a caller that may see details: bounded, no URL credentials. */
export function cleanOutput(value: unknown): string {
  let text: string;
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    const cause = (value as { cause?: { code?: unknown; message?: unknown } }).cause;
    text = value.message || value.name;
    if (typeof code === 'string' && !text.includes(code)) text = `${code}: ${text}`;
    if (cause !== undefined && cause !== null && typeof cause === 'object') {
      const causeText = typeof cause.code === 'string' ? cause.code : typeof cause.message === 'string' ? cause.message : '';
      if (causeText !== '' && !text.includes(causeText)) text += ` (${causeText})`;
    }
  } else text = String(value);
  text = text.replace(URL_CREDENTIALS, '$1***@');
  return text.length > MAX_OUTPUT ? text.slice(0, MAX_OUTPUT - 1) + '…' : text;
}

function normalise(value: CheckReturn): Omit<RunResult, 'durationMs' | 'epochMs' | 'time'> {
  if (value === undefined || value === null || value === true) {
    return { status: 'pass', observedValue: undefined, observedUnit: undefined, output: undefined };
  }
  if (value === false) return { status: 'fail', observedValue: undefined, observedUnit: undefined, output: 'check returned false' };
  if (typeof value === 'object') {
    const status = typeof value.status === 'string' ? STATUS_ALIASES[value.status.toLowerCase()] : undefined;
    if (status === undefined) {
      return { status: 'fail', observedValue: undefined, observedUnit: undefined, output: `invalid check result status: ${cleanOutput(value.status)}` };
    }
    const observed = value.observedValue;
    return {
      status,
      observedValue: typeof observed === 'number' || typeof observed === 'string' ? observed : undefined,
      observedUnit: typeof value.observedUnit === 'string' ? value.observedUnit : undefined,
      output: value.output === undefined || value.output === null ? undefined : cleanOutput(value.output),
    };
  }
  return { status: 'fail', observedValue: undefined, observedUnit: undefined, output: `invalid check result: ${typeof value}` };
}

/** The reason a check's signal aborts with when its timeout elapses. */
export function timeoutReason(timeoutMs: number): Error {
  const error = new Error(`timed out after ${timeoutMs} ms`);
  error.name = 'TimeoutError';
  return error;
}

/**
 * Runs a check once with a hard timeout: the signal aborts and the run resolves as `fail` when
 * `timeoutMs` elapses, whether or not the check honours the signal. Never rejects.
 */
export function runCheck(check: CheckFunction, timeoutMs: number): Promise<RunResult> {
  const controller = new AbortController();
  const started = performance.now();
  return new Promise<RunResult>((resolve) => {
    let settled = false;
    const finish = (partial: Omit<RunResult, 'durationMs' | 'epochMs' | 'time'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const epochMs = Date.now();
      resolve({ ...partial, durationMs: performance.now() - started, epochMs, time: new Date(epochMs).toISOString() });
    };
    const timer = setTimeout(() => {
      const reason = timeoutReason(timeoutMs);
      finish({ status: 'fail', observedValue: undefined, observedUnit: undefined, output: reason.message });
      controller.abort(reason);
    }, timeoutMs);
    timer.unref();
    let pending: CheckReturn | Promise<CheckReturn>;
    try {
      pending = check(controller.signal);
    } catch (error) {
      finish({ status: 'fail', observedValue: undefined, observedUnit: undefined, output: cleanOutput(error) });
      return;
    }
    if (pending !== null && typeof pending === 'object' && typeof (pending as Promise<CheckReturn>).then === 'function') {
      (pending as Promise<CheckReturn>).then(
        (value) => finish(normalise(value)),
        (error: unknown) => finish({ status: 'fail', observedValue: undefined, observedUnit: undefined, output: cleanOutput(error) }),
      );
    } else finish(normalise(pending as CheckReturn));
  });
}
