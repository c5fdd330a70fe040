/** Reads a YAML spec file (default: the project's cluster.yaml) and validates it. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { parseSpec, SpecError, type ClusterSpec } from '../common/spec';

/** A file shipped with the project, found from the source tree or from dist/. */
export function projectFile(name: string): string {
  for (const base of [path.join(__dirname, '..'), path.join(__dirname, '..', '..')]) {
    const candidate = path.join(base, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`project file ${name} not found`);
}

export function loadSpecFile(file?: string): ClusterSpec {
  const resolved = file ? path.resolve(file) : projectFile('cluster.yaml');
  let text: string;
  try {
    text = fs.readFileSync(resolved, 'utf8');
  } catch (err) {
    throw new SpecError([`cannot read ${resolved}: ${(err as Error).message}`]);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new SpecError([`${resolved} is not valid YAML: ${(err as Error).message}`]);
  }
  return parseSpec(doc);
}
