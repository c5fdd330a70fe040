/**
 * Turns a workflow input schema's verdict into problems an operator can act on, each naming its
 * field ("volumes: expected true or false, got the string \"false\""). Pure: the workflows run it
 * before their first activity, the CLI before it starts a workflow.
 */
import type { z } from 'zod';

/** A custom issue may name its field itself (the spec's own problems: "spec.members[1].port"). */
export interface FieldParams {
  field?: string;
}

function fieldOf(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    '',
  );
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

const EXPECTED: Record<string, string> = {
  boolean: 'true or false',
  object: 'a JSON object',
  array: 'a list',
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
};

function problemOf(issue: z.core.$ZodIssue): string {
  const params = (issue as { params?: FieldParams }).params;
  const field = params?.field ?? (fieldOf(issue.path) || 'input');
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${fieldOf(issue.path) || 'input'}: unknown key(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    case 'invalid_type':
      if (input === undefined && issue.path.length) return `${field}: required`;
      return `${field}: expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describe(input)}`;
    case 'invalid_value':
      return `${field}: ${describe(input)} is not one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${field}: ${issue.message}`;
  }
}

/** Every problem of `input` against `schema` (none: valid). */
export function inputProblems(schema: z.ZodType, input: unknown): string[] {
  const r = schema.safeParse(input, { reportInput: true });
  return r.success ? [] : r.error.issues.map(problemOf);
}

/** The input, typed, or every problem. */
export function checkInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
): { ok: true; value: z.output<S> } | { ok: false; problems: string[] } {
  const r = schema.safeParse(input, { reportInput: true });
  return r.success ? { ok: true, value: r.data } : { ok: false, problems: r.error.issues.map(problemOf) };
}

/** What the CLI throws for an input it built wrongly (exit 2, like a bad spec). Never thrown in a workflow. */
export class InputError extends Error {
  constructor(
    readonly workflow: string,
    readonly problems: string[],
  ) {
    super(`invalid input of ${workflow}: ${problems.join('; ')}`);
    this.name = 'InputError';
  }
}
