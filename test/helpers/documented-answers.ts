import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { SCHEMAS } from '../../src/openapi/docs.routes.js';

// ajv-formats is CommonJS: its default export is the module object or the plugin, by loader.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => void;

/** The parts of GET /openapi.json that say what each operation answers. */
export type Doc = {
  paths: Record<string, Record<string, { responses: Record<string, any> }>>;
  components: { schemas: Record<string, unknown> };
};

export const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
const validators = new Map<string, ValidateFunction>();

/** A validator of a named schema of the contract (a component of the document). */
export function validatorOf(name: string): ValidateFunction {
  let v = validators.get(name);
  if (!v) {
    v = ajv.compile(SCHEMAS[name as keyof typeof SCHEMAS] as object);
    validators.set(name, v);
  }
  return v;
}

/**
 * The documented path of a concrete URL (`/admin/v1/orgs/7/tills` -> `/admin/v1/orgs/{orgId}/tills`),
 * the most literal one when several match (`/issuals.csv` over `{promotionId}`); undefined for none.
 */
export function documentedPath(doc: Doc, url: string): string | undefined {
  const path = url.split('?', 1)[0] as string;
  const candidates = Object.keys(doc.paths).filter((p) => {
    // A parameter may be empty: the router matches `/orgs//tills` and the schema refuses it.
    const re = new RegExp(`^${p.replace(/\./g, '\\.').replace(/\{[^}]+\}/g, '[^/]*')}$`);
    return re.test(path);
  });
  candidates.sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0));
  return candidates[0];
}

/**
 * What is wrong with an answer against the document: its status is not one its operation
 * documents, or its JSON body does not match the schema documented for that status. Undefined when
 * it is a documented answer.
 */
export function undocumented(
  doc: Doc,
  method: string,
  url: string,
  status: number,
  body: string,
): string | undefined {
  const path = documentedPath(doc, url);
  if (!path) return `${method} ${url} is in no documented path`;
  const operation = doc.paths[path]?.[method.toLowerCase()];
  if (!operation) return `${method} ${path} is not documented`;
  const documented = operation.responses[String(status)];
  if (!documented) return `${method} ${path} does not document status ${status}`;
  const ref: string | undefined = documented.content?.['application/json']?.schema?.$ref;
  if (!ref) return undefined;
  const name = ref.split('/').pop() as string;
  const validate = validatorOf(name);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return `${method} ${path} ${status} is not JSON`;
  }
  return validate(parsed)
    ? undefined
    : `${method} ${path} ${status} as ${name}: ${ajv.errorsText(validate.errors)}`;
}
