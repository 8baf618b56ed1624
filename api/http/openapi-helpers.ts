/** Building blocks of the OpenAPI document: JSON Schema from zod, common responses. */
import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

/** Named schemas, collected as the paths that use them are built. */
export const components: Record<string, JsonSchema> = {};

/** JSON Schema 2020-12 of a zod schema (OpenAPI 3.1 uses it as is); named schemas become $refs. */
export function schemaOf(schema: z.ZodType, io: 'input' | 'output' = 'output'): JsonSchema {
  const id = z.globalRegistry.get(schema)?.id;
  const jsonSchema = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
  });
  delete jsonSchema.$schema;
  if (id === undefined) return jsonSchema;
  components[id] = jsonSchema;
  return { $ref: `#/components/schemas/${id}` };
}

export const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

export const json = (description: string, schema: z.ZodType) => ({
  description,
  content: { 'application/json': { schema: schemaOf(schema) } },
});

export function queryParameters(schema: z.ZodObject): unknown[] {
  const input = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, JsonSchema>;
  };
  return Object.entries(input.properties ?? {}).map(([name, s]) => ({
    name,
    in: 'query',
    required: false,
    schema: s,
  }));
}

export const pathId = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string', pattern: '^[1-9][0-9]*$' },
});

export const bearer = [{ bearerAuth: [] }];
