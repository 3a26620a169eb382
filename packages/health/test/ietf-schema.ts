import Ajv from 'ajv';
import addFormats from 'ajv-formats';

/**
 * JSON Schema transcribed from the field rules of draft-inadarei-api-health-check-06
 * ("Health Check Response Format for HTTP APIs"), sections 3 and 4:
 * - `status` is REQUIRED and one of pass | fail | warn;
 * - `version`, `releaseId`, `serviceId`, `description`, `output` are strings; `notes` an array of strings;
 * - `output` SHOULD be omitted for "pass" (top level and in checks);
 * - `checks` is an object whose keys are `{componentName}:{measurementName}` (or a bare name) and whose
 *   values are arrays of objects with componentId, componentType, observedValue (any JSON value),
 *   observedUnit, status, affectedEndpoints (URIs), time (ISO 8601 date-time), output, links.
 */
const status = { type: 'string', enum: ['pass', 'fail', 'warn'] };
const noOutputWhenPass = {
  if: { properties: { status: { const: 'pass' } }, required: ['status'] },
  then: { not: { required: ['output'] } },
};
const checkObject = {
  type: 'object',
  required: ['status'],
  properties: {
    componentId: { type: 'string' },
    componentType: { type: 'string' },
    observedValue: {},
    observedUnit: { type: 'string' },
    status,
    affectedEndpoints: { type: 'array', items: { type: 'string', format: 'uri' } },
    time: { type: 'string', format: 'date-time' },
    output: { type: 'string' },
    links: { type: 'object', additionalProperties: { type: 'string', format: 'uri' } },
  },
  ...noOutputWhenPass,
};
export const ietfHealthSchema = {
  type: 'object',
  required: ['status'],
  properties: {
    status,
    version: { type: 'string' },
    releaseId: { type: 'string' },
    notes: { type: 'array', items: { type: 'string' } },
    output: { type: 'string' },
    serviceId: { type: 'string' },
    description: { type: 'string' },
    checks: {
      type: 'object',
      propertyNames: { pattern: '^[^:]+(:[^:]+)?$' },
      additionalProperties: { type: 'array', items: checkObject },
    },
    links: { type: 'object', additionalProperties: { type: 'string', format: 'uri' } },
  },
  ...noOutputWhenPass,
};

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(ietfHealthSchema);

/** Throws with ajv's messages when `body` breaks the draft's field rules. */
export function assertIetfBody(body: unknown): void {
  if (!validate(body)) throw new Error(`not a valid health+json body: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`);
}

/** The draft's status-code rule: pass/warn → 2xx-3xx, fail → 4xx-5xx. */
export function statusCodeMatches(httpStatus: number, bodyStatus: string): boolean {
  return bodyStatus === 'fail' ? httpStatus >= 400 && httpStatus < 600 : httpStatus >= 200 && httpStatus < 400;
}
