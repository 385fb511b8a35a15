import { type Static, Type } from 'typebox';
import { PageQuery } from './common.contract.js';
import { IMPORT_MODES, IMPORT_OUTCOMES, PROMOTION_STATES } from './enums.contract.js';

/*
 * The management API's directory (lists, searches, counts, imports): the parts that need nothing of
 * admin.contract.ts, kept here so that neither file grows past its size; admin.contract.ts re-exports
 * them and names the answers among its components.
 */

const PathId = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
const PageProperties = PageQuery(1000, 100).properties;

export const ProgramParams = Type.Object({ orgId: PathId, programId: PathId });
export const CustomerParams = Type.Object({ orgId: PathId, customerId: PathId });

export const PromotionListQuery = Type.Object({
  ...PageProperties,
  programId: Type.Optional(PathId),
  type: Type.Optional(
    Type.String({ minLength: 1, maxLength: 40, description: 'A type or one of its aliases' }),
  ),
  state: Type.Optional(
    Type.Enum(PROMOTION_STATES, { description: 'Computed from active and the dates, now' }),
  ),
  name: Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, description: 'Part of the name, any case' }),
  ),
});
export const CustomerSearchQuery = Type.Object({
  ...PageProperties,
  id: Type.Optional(PathId),
  mobile: Type.Optional(Type.String({ minLength: 1, maxLength: 40, description: 'Compared by its digits' })),
  email: Type.Optional(Type.String({ minLength: 1, maxLength: 320, description: 'Trimmed, any case' })),
  externalId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
});
const DAY = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'A UTC day, YYYY-MM-DD' });
export const CountsQuery = Type.Object({ from: Type.Optional(DAY), to: Type.Optional(DAY) });
export const ManyCountsQuery = Type.Object({
  ids: Type.String({
    pattern: '^[0-9]{1,15}(,[0-9]{1,15}){0,99}$',
    description: 'Up to 100 promotion ids, comma-separated',
  }),
});
export const ImportQuery = Type.Object({
  mode: Type.Optional(Type.Enum(IMPORT_MODES, { default: 'create' })),
});

const countFields = {
  enrolled: Type.Integer({ description: 'Active (unrevoked) issuals' }),
  earned: Type.Integer({ description: 'Active (unrevoked) earns' }),
  revokedIssuals: Type.Integer(),
  revokedEarns: Type.Integer(),
  uniqueCustomers: Type.Integer({ description: 'Customers who ever had an issual in it' }),
};
export const ManyPromotionCountsAnswer = Type.Object({
  counts: Type.Array(Type.Object({ promotionId: Type.Integer(), ...countFields })),
});
export const PromotionCountsAnswer = Type.Object({
  promotionId: Type.Integer(),
  ...countFields,
  days: Type.Array(
    Type.Object({
      date: Type.String(),
      issuals: Type.Integer({ description: 'Issuals made that day' }),
      earns: Type.Integer({ description: 'Earns made that day' }),
      revokedIssuals: Type.Integer(),
      revokedEarns: Type.Integer(),
      newCustomers: Type.Integer({ description: 'Customers whose first issual was that day' }),
    }),
  ),
});
export const ImportAnswer = Type.Object({
  mode: Type.Enum(IMPORT_MODES),
  rowsCommitted: Type.Integer({ description: 'Rows whose chunk committed' }),
  totals: Type.Object(Object.fromEntries(IMPORT_OUTCOMES.map((o) => [o, Type.Integer()]))),
  rows: Type.Array(
    Type.Object({
      row: Type.Integer({ description: 'CSV: the line of the file (the header is 1); JSON: the index' }),
      outcome: Type.Enum(IMPORT_OUTCOMES),
      id: Type.Optional(Type.Integer()),
      reason: Type.Optional(Type.String()),
      field: Type.Optional(Type.String()),
    }),
  ),
  error: Type.Optional(Type.String({ description: 'Why the import stopped early, rows after it untouched' })),
});

export type PromotionListInput = Static<typeof PromotionListQuery>;
export type CustomerSearchInput = Static<typeof CustomerSearchQuery>;
export type PromotionCounts = Static<typeof PromotionCountsAnswer>;
export type ImportResult = Static<typeof ImportAnswer>;
