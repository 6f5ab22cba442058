// Validation of rendered manifests against the Kubernetes and KEDA API schemas shipped by the npm
// packages kubernetes-models and @kubernetes-models/keda, offline, in two passes:
//  1. the packages' JSON-schema validators: required fields, types, enums, formats;
//  2. their TypeScript interfaces, through the TypeScript compiler's excess-property check on an
//     object literal per manifest: a misspelt or misplaced field (which the JSON schemas, like the
//     API server's non-strict decoding, would let through and silently drop) is an error.
import * as path from 'node:path';
import * as ts from 'typescript';
import type { Manifest } from './kustomize-render';
import { REPO_ROOT } from '../helpers/repo-paths';

/** The npm module that holds the model of each API group/version. */
function modelModule(apiVersion: string, kind: string): string {
  if (apiVersion === 'keda.sh/v1alpha1') return `@kubernetes-models/keda/keda.sh/v1alpha1/${kind}`;
  if (apiVersion.includes('.'))
    throw new Error(`no schema package for apiVersion ${apiVersion} (kind ${kind})`);
  return `kubernetes-models/${apiVersion}/${kind}`;
}

interface ValidatingModel {
  validate(): void;
}

/** Pass 1: the JSON-schema validator of each manifest's model; returns one message per invalid manifest. */
export function schemaErrors(label: string, manifests: Manifest[]): string[] {
  const errors: string[] = [];
  for (const manifest of manifests) {
    const where = `${label}: ${manifest.kind}/${manifest.metadata.name}`;
    let Model: new (data: unknown) => ValidatingModel;
    try {
      Model = require(modelModule(manifest.apiVersion, manifest.kind))[manifest.kind];
    } catch (error) {
      errors.push(
        `${where}: no schema for ${manifest.apiVersion} ${manifest.kind}: ${(error as Error).message}`,
      );
      continue;
    }
    try {
      new Model(manifest).validate();
    } catch (error) {
      errors.push(`${where}: ${(error as Error).message}`);
    }
  }
  return errors;
}

/** Pass 2: type-checks every manifest as an object literal of its model's interface. */
export function unknownFieldErrors(rendered: Map<string, Manifest[]>): string[] {
  const lines: string[] = [];
  const owners: { firstLine: number; where: string }[] = [];
  let index = 0;
  for (const [label, manifests] of rendered) {
    for (const manifest of manifests) {
      const module = modelModule(manifest.apiVersion, manifest.kind);
      const alias = `T${index}`;
      owners.push({ firstLine: lines.length, where: `${label}: ${manifest.kind}/${manifest.metadata.name}` });
      lines.push(`import type { I${manifest.kind} as ${alias} } from '${module}';`);
      lines.push(
        ...`export const manifest${index}: ${alias} = ${JSON.stringify(manifest, null, 2)};`.split('\n'),
      );
      index += 1;
    }
  }
  const source = lines.join('\n');
  // A path inside the repository, so that the imports resolve against its node_modules.
  const fileName = path.join(REPO_ROOT, 'test', 'deploy', 'rendered-manifests.generated.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === fileName || fileExists(name);
  host.readFile = (name) => (name === fileName ? source : readFile(name));
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === fileName
      ? ts.createSourceFile(name, source, languageVersion, true)
      : getSourceFile(name, languageVersion, ...rest);
  const program = ts.createProgram([fileName], options, host);
  const sourceLines = source.split('\n');
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (diagnostic.file?.fileName !== fileName || diagnostic.start === undefined) return message;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    const owner = owners.filter((candidate) => candidate.firstLine <= line).pop();
    return `${owner?.where ?? 'unknown manifest'}: near \`${sourceLines[line].trim()}\`: ${message}`;
  });
}
