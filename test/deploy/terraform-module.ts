// A Terraform module read offline: every *.tf file of a folder parsed by @cdktf/hcl2json (HashiCorp's
// HCL parser compiled to WebAssembly) and its top-level blocks merged, as Terraform merges files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from '@cdktf/hcl2json';

/** One block body as hcl2json renders it: attributes as JSON values, expressions as "${...}" strings. */
export type HclBody = Record<string, unknown>;

export interface TerraformModule {
  directory: string;
  files: Map<string, string>;
  /** resources.get('aws_s3_bucket.batch_files') */
  resources: Map<string, HclBody>;
  modules: Map<string, HclBody>;
  variables: Map<string, HclBody>;
  outputs: Map<string, HclBody>;
  terraformBlocks: HclBody[];
}

function bodies(value: unknown, where: string): HclBody[] {
  if (!Array.isArray(value)) throw new Error(`${where}: expected a list of block bodies`);
  return value as HclBody[];
}

function addNamed(target: Map<string, HclBody>, blocks: unknown, file: string, kind: string): void {
  for (const [name, value] of Object.entries((blocks ?? {}) as Record<string, unknown>)) {
    const [body] = bodies(value, `${file}: ${kind} ${name}`);
    if (target.has(name)) throw new Error(`${file}: ${kind} "${name}" is declared twice in the module`);
    target.set(name, body);
  }
}

export async function loadTerraformModule(directory: string): Promise<TerraformModule> {
  const module: TerraformModule = {
    directory,
    files: new Map(),
    resources: new Map(),
    modules: new Map(),
    variables: new Map(),
    outputs: new Map(),
    terraformBlocks: [],
  };
  const names = fs.readdirSync(directory).filter((name) => name.endsWith('.tf'));
  if (names.length === 0) throw new Error(`${directory}: no .tf files`);
  for (const name of names.sort()) {
    const file = path.join(directory, name);
    const source = fs.readFileSync(file, 'utf8');
    module.files.set(file, source);
    let document: Record<string, unknown>;
    try {
      document = (await parse(file, source)) as Record<string, unknown>;
    } catch (error) {
      throw new Error(`${file}: HCL does not parse: ${String(error)}`);
    }
    for (const [type, byName] of Object.entries((document.resource ?? {}) as Record<string, unknown>)) {
      const named = new Map<string, HclBody>();
      addNamed(named, byName, file, `resource ${type}`);
      for (const [resourceName, body] of named) {
        const address = `${type}.${resourceName}`;
        if (module.resources.has(address)) throw new Error(`${file}: resource ${address} is declared twice`);
        module.resources.set(address, body);
      }
    }
    addNamed(module.modules, document.module, file, 'module');
    addNamed(module.variables, document.variable, file, 'variable');
    addNamed(module.outputs, document.output, file, 'output');
    if (document.terraform !== undefined)
      module.terraformBlocks.push(...bodies(document.terraform, `${file}: terraform`));
  }
  return module;
}

/** Every *.tf file under a folder, recursively. */
export function terraformFiles(directory: string): string[] {
  return fs.readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) return entry.name === '.terraform' ? [] : terraformFiles(full);
    return entry.name.endsWith('.tf') ? [full] : [];
  });
}
