import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Credentials, IdentifierName } from '../client/types.js';
import { IDENTIFIER_NAMES, isOneOf } from '../contract/enums.contract.js';

export const BULK_ACTIONS = ['enrol', 'earn', 'revoke-enrol', 'revoke-earn'] as const;
export type BulkCommandAction = (typeof BULK_ACTIONS)[number];

/** The promotion type, when the operator knows it: it decides which endpoint revokes earns. */
export type KnownPromotionType = 'DIRECT' | 'ENROL_AND_ISSUE';

export const BULK_USAGE = `Usage: loyalty bulk enrol|earn|revoke-enrol|revoke-earn --csv FILE --url URL --program ID
         (--promotion ID | --promo-identifier X) --identifier id|mobile|email [--source S]
         (--till USER:PASSWORD | --client-key K --client-secret S)
         [--concurrency N] [--out FILE] [--resume]

Sends a CSV of customers to the v2 bulk API, 100 a call, and writes what happened to each to a
results CSV. The CSV has an identifier column and optionally a source column, with or without a
header (a header names them "identifierValue" or the identifier's name, and "source").

Options:
  --csv FILE             the customers
  --url URL              the API, e.g. http://127.0.0.1:3000
  --program ID           programId
  --promotion ID         promotionId (or --promo-identifier X)
  --identifier NAME      id, mobile or email
  --source S             source of rows without one (default INSTORE)
  --till USER:PASSWORD   a till's credentials (Basic)
  --client-key K --client-secret S
                         an API client's credentials (OAuth)
  --concurrency N        calls in flight at once, 1 to 32 (default 4)
  --out FILE             results CSV (default FILE.results.csv beside the input); the journal
                         that --resume reads is OUT.journal
  --resume               continue the run that OUT.journal recorded
  --promotion-type T     revoke-earn: DIRECT or ENROL_AND_ISSUE (default: the first call finds out)
  --max-attempts N       tries per call before giving up, 1 to 100 (default 8)
  --retry-delay MS       first retry's delay, doubled each time, with jitter (default 500)
  --timeout SECONDS      per call (default 60)
  --batch-id TEXT        a new id makes a new run of the same file and options within 24 hours
                         reward again; without it the server answers such a repeat from its replay

Exit status: 0 every customer ok, 2 some customers failed, 1 the run could not finish.
`;

/** A problem with the command line or the input file: the run stops before or without sending. */
export class BulkInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BulkInputError';
  }
}

/** Everything a bulk run needs, validated. */
export interface BulkOptions {
  action: BulkCommandAction;
  csvPath: string;
  outPath: string;
  journalPath: string;
  baseUrl: string;
  programId: number;
  promotionId: number | undefined;
  promoIdentifier: string | undefined;
  identifierName: IdentifierName;
  defaultSource: string;
  credentials: Credentials;
  concurrency: number;
  resume: boolean;
  promotionType: KnownPromotionType | undefined;
  maxAttempts: number;
  retryDelayMs: number;
  timeoutMs: number;
  batchId: string;
}

function positiveInt(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new BulkInputError(`--${name} must be an integer from ${min} to ${max} (got "${raw}")`);
  }
  return Number(raw);
}

function required(name: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new BulkInputError(`--${name} is required`);
  return value;
}

const TYPE_NAMES: Record<string, KnownPromotionType> = {
  DIRECT: 'DIRECT',
  LOYALTY: 'DIRECT',
  DIRECT_EARN: 'DIRECT',
  ENROL_AND_ISSUE: 'ENROL_AND_ISSUE',
  LOYALTY_EARNING: 'ENROL_AND_ISSUE',
  ISSUE_AND_EARN: 'ENROL_AND_ISSUE',
};

/** `FILE.results.csv` beside the input. */
export function defaultOutPath(csvPath: string): string {
  const parsed = path.parse(csvPath);
  return path.join(
    parsed.dir,
    `${parsed.ext.toLowerCase() === '.csv' ? parsed.name : parsed.base}.results.csv`,
  );
}

/** Parses `loyalty bulk ...` arguments (those after `bulk`); throws BulkInputError naming the problem. */
export function parseBulkOptions(argv: readonly string[]): BulkOptions | 'help' {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new BulkInputError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const [action, ...extra] = positionals;
  if (action === undefined) throw new BulkInputError(`name an action: ${BULK_ACTIONS.join(', ')}`);
  if (!(BULK_ACTIONS as readonly string[]).includes(action)) {
    throw new BulkInputError(`unknown action "${action}": use one of ${BULK_ACTIONS.join(', ')}`);
  }
  if (extra.length > 0) throw new BulkInputError(`unexpected argument "${extra[0]}"`);

  const csvPath = required('csv', values.csv);
  const rawUrl = required('url', values.url);
  let baseUrl: string;
  try {
    const url = new URL(rawUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    baseUrl = url.toString().replace(/\/+$/, '');
  } catch {
    throw new BulkInputError(`--url must be an http:// or https:// URL (got "${rawUrl}")`);
  }
  const programId = positiveInt(
    'program',
    required('program', values.program),
    1,
    Number.MAX_SAFE_INTEGER,
  ) as number;
  const promotionId = positiveInt('promotion', values.promotion, 1, Number.MAX_SAFE_INTEGER);
  const promoIdentifier = values['promo-identifier'];
  if (promotionId === undefined && (promoIdentifier === undefined || promoIdentifier === '')) {
    throw new BulkInputError('--promotion ID or --promo-identifier X is required');
  }
  const identifierName = required('identifier', values.identifier);
  if (!isOneOf(IDENTIFIER_NAMES, identifierName)) {
    throw new BulkInputError(`--identifier must be id, mobile or email (got "${identifierName}")`);
  }
  const defaultSource = (values.source ?? 'INSTORE').trim();
  if (defaultSource === '') throw new BulkInputError('--source must not be empty');

  const till = values.till;
  const key = values['client-key'];
  const secret = values['client-secret'];
  let credentials: Credentials;
  if (till !== undefined) {
    if (key !== undefined || secret !== undefined) {
      throw new BulkInputError('give either --till or --client-key with --client-secret, not both');
    }
    const colon = till.indexOf(':');
    if (colon <= 0) throw new BulkInputError('--till must be USER:PASSWORD');
    credentials = { kind: 'basic', username: till.slice(0, colon), password: till.slice(colon + 1) };
  } else if (key !== undefined || secret !== undefined) {
    credentials = {
      kind: 'oauth',
      key: required('client-key', key),
      secret: required('client-secret', secret),
    };
  } else {
    throw new BulkInputError(
      'credentials are required: --till USER:PASSWORD, or --client-key K --client-secret S',
    );
  }

  let promotionType: KnownPromotionType | undefined;
  if (values['promotion-type'] !== undefined) {
    promotionType = TYPE_NAMES[values['promotion-type'].trim().toUpperCase().replaceAll('-', '_')];
    if (!promotionType) {
      throw new BulkInputError(
        `--promotion-type must be DIRECT or ENROL_AND_ISSUE (got "${values['promotion-type']}")`,
      );
    }
  }

  const outPath = path.resolve(values.out ?? defaultOutPath(csvPath));
  return {
    action: action as BulkCommandAction,
    csvPath: path.resolve(csvPath),
    outPath,
    journalPath: `${outPath}.journal`,
    baseUrl,
    programId,
    promotionId,
    promoIdentifier: promoIdentifier === '' ? undefined : promoIdentifier,
    identifierName,
    defaultSource,
    credentials,
    concurrency: positiveInt('concurrency', values.concurrency, 1, 32) ?? 4,
    resume: values.resume ?? false,
    promotionType,
    maxAttempts: positiveInt('max-attempts', values['max-attempts'], 1, 100) ?? 8,
    retryDelayMs: positiveInt('retry-delay', values['retry-delay'], 0, 600_000) ?? 500,
    timeoutMs: (positiveInt('timeout', values.timeout, 1, 3600) ?? 60) * 1000,
    batchId: values['batch-id'] ?? '',
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      csv: { type: 'string' },
      url: { type: 'string' },
      program: { type: 'string' },
      promotion: { type: 'string' },
      'promo-identifier': { type: 'string' },
      identifier: { type: 'string' },
      source: { type: 'string' },
      till: { type: 'string' },
      'client-key': { type: 'string' },
      'client-secret': { type: 'string' },
      concurrency: { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'boolean' },
      'promotion-type': { type: 'string' },
      'max-attempts': { type: 'string' },
      'retry-delay': { type: 'string' },
      timeout: { type: 'string' },
      'batch-id': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
