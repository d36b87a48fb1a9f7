/**
 * Turns schema validation failures into `validationError` (field path → problems), in words a
 * developer reads without knowing JSON Schema.
 */
import type { FastifySchemaValidationError } from 'fastify';
import type { ValidationErrors } from '../errors.js';

function pathOf(instancePath: string, context: string): string {
  const p = instancePath.replace(/^\//, '').split('/').filter(Boolean).join('.');
  if (p !== '') return p;
  return context === 'body' ? 'body' : context;
}

function describe(e: FastifySchemaValidationError): [string, string] | undefined {
  const params = e.params as Record<string, unknown>;
  const ctx = 'body';
  const at = (suffix: string) => {
    const base = pathOf(e.instancePath, ctx);
    return base === 'body' ? suffix : `${base}.${suffix}`;
  };
  switch (e.keyword) {
    case 'required':
      return [at(String(params.missingProperty)), 'is required'];
    case 'additionalProperties':
      return [at(String(params.additionalProperty)), 'is not a known field'];
    case 'type': {
      const want = String(params.type);
      const path = pathOf(e.instancePath, ctx);
      const noun = want === 'object' ? 'a JSON object' : want === 'array' ? 'an array' : `a ${want}`;
      return [path, `must be ${noun}`];
    }
    case 'minLength':
      return [
        pathOf(e.instancePath, ctx),
        Number(params.limit) === 1
          ? 'must not be empty'
          : `must be at least ${String(params.limit)} characters`,
      ];
    case 'maxLength':
      return [pathOf(e.instancePath, ctx), `must be at most ${String(params.limit)} characters`];
    case 'enum': {
      const allowed = Array.isArray(params.allowedValues) ? params.allowedValues.join(', ') : '';
      return [pathOf(e.instancePath, ctx), `must be one of: ${allowed}`];
    }
    case 'const':
      return [pathOf(e.instancePath, ctx), `must be ${JSON.stringify(params.allowedValue)}`];
    case 'minimum':
    case 'maximum':
      return [
        pathOf(e.instancePath, ctx),
        `must be ${e.keyword === 'minimum' ? '>=' : '<='} ${String(params.limit)}`,
      ];
    case 'format':
      return [pathOf(e.instancePath, ctx), `must be a valid ${String(params.format)}`];
    case 'pattern':
      return [pathOf(e.instancePath, ctx), 'has an invalid format'];
    // anyOf/oneOf repeat their branches' errors; those are reported instead.
    case 'anyOf':
    case 'oneOf':
    case 'if':
      return undefined;
    default:
      return [pathOf(e.instancePath, ctx), e.message ?? 'is invalid'];
  }
}

export function toValidationErrors(
  errors: readonly FastifySchemaValidationError[],
  context: string,
): ValidationErrors {
  // No prototype: a field literally named `__proto__` must be reported, not become one.
  const out = Object.create(null) as ValidationErrors;
  for (const e of errors) {
    const d = describe(e);
    if (d === undefined) continue;
    let [path, problem] = d;
    if (context !== 'body' && path === 'body') path = context;
    const list = out[path] ?? [];
    if (!list.includes(problem)) list.push(problem);
    out[path] = list;
  }
  return out;
}
