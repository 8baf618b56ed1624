import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import openapiTS, { COMMENT_HEADER, astToString, type OpenAPI3 } from 'openapi-typescript';
import { buildOpenApiDocument } from '../api/openapi';
import { messageOf } from '../shared/infra-errors';

/**
 * `npm run openapi`: writes the OpenAPI document the app serves to docs/openapi.json and the
 * typed client's types generated from it (openapi-typescript) to client/schema.ts.
 * `--check` writes nothing: it exits 1 naming the committed files that differ from what the
 * code generates (a test runs it).
 */

/** The repository root: this runs built, as dist/cli/openapi.js. */
const ROOT = path.resolve(__dirname, '../..');

/** Where the generated files live, relative to the repository root. */
const ARTIFACTS = {
  document: 'docs/openapi.json',
  clientTypes: 'client/schema.ts',
} as const;

type Artifacts = Record<keyof typeof ARTIFACTS, string>;
const KEYS = Object.keys(ARTIFACTS) as (keyof Artifacts)[];

/** The files' contents, exactly as `npm run openapi` writes them. */
async function renderArtifacts(): Promise<Artifacts> {
  const document = buildOpenApiDocument();
  const types = await openapiTS(document as unknown as OpenAPI3, { silent: true });
  return {
    document: `${JSON.stringify(document, null, 2)}\n`,
    clientTypes: `${COMMENT_HEADER}${astToString(types)}`,
  };
}

async function main(args: string[]): Promise<void> {
  const artifacts = await renderArtifacts();
  if (args.includes('--check')) {
    const committed = (key: keyof Artifacts) =>
      readFile(path.join(ROOT, ARTIFACTS[key]), 'utf8').catch(() => '');
    const stale: string[] = [];
    for (const key of KEYS) {
      if ((await committed(key)) !== artifacts[key]) stale.push(ARTIFACTS[key]);
    }
    if (stale.length > 0) {
      console.error(
        `${stale.join(' and ')} differ from what the code generates: run \`npm run openapi\``,
      );
      process.exit(1);
    }
    process.stdout.write(`${KEYS.map((key) => ARTIFACTS[key]).join(' and ')} are up to date\n`);
    return;
  }
  for (const key of KEYS) {
    const file = path.join(ROOT, ARTIFACTS[key]);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, artifacts[key]);
    process.stdout.write(`wrote ${ARTIFACTS[key]}\n`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(messageOf(error));
  process.exit(1);
});
