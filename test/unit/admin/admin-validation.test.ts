import { describe, expect, it } from 'vitest';
import { validated } from '../../../src/admin/admin-validation.js';
import {
  CreateCustomersBody,
  CreateOrgBody,
  CreatePromotionBody,
  Fixture,
} from '../../../src/contract/admin.contract.js';
import { AppError } from '../../../src/errors.js';

/** The field a refusal names, or undefined when the value passes. */
function refusedField(schema: Parameters<typeof validated>[0], value: unknown, prefix?: string) {
  try {
    validated(schema, value, prefix);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('invalid_request');
    expect((err as AppError).message.length).toBeGreaterThan(0);
    return (err as AppError).field;
  }
}

describe('management API validation against the contract', () => {
  it('passes well-formed bodies, ids given as digits included', () => {
    expect(refusedField(CreateOrgBody, { name: 'Org', id: '12' })).toBeUndefined();
    expect(
      refusedField(CreatePromotionBody, { programId: 1, name: 'P', type: 'direct', endDate: null }),
    ).toBeUndefined();
  });

  it('names the body when it is not an object', () => {
    for (const body of [[], 'org', 42, null]) expect(refusedField(CreateOrgBody, body)).toBe('body');
  });

  it('names a missing field, an unknown field and a malformed field', () => {
    expect(refusedField(CreateOrgBody, {})).toBe('name');
    expect(refusedField(CreateOrgBody, { name: 'x', colour: 'red' })).toBe('colour');
    expect(refusedField(CreateOrgBody, { name: '   ' })).toBe('name');
    expect(refusedField(CreateOrgBody, { name: 'a\u0000b' })).toBe('name');
    expect(
      refusedField(CreatePromotionBody, { programId: 1, name: 'P', type: 'DIRECT', active: 'true' }),
    ).toBe('active');
  });

  it('names nested fields as JSON paths with array indexes', () => {
    expect(refusedField(CreateCustomersBody, { customers: [{}, { sources: ['INSTORE', 7] }] })).toBe(
      'customers[1].sources[1]',
    );
    expect(refusedField(CreateCustomersBody, { customers: [{}, { nickname: 'Jo' }] })).toBe(
      'customers[1].nickname',
    );
    expect(refusedField(CreateCustomersBody, { customers: [{}, null] })).toBe('customers[1]');
  });

  it('prefixes the field for a fixture, so the record is named', () => {
    expect(refusedField(Fixture, { orgs: [{ name: 'x', tills: [{ username: 'u', password: 'p' }] }] })).toBe(
      'orgs[0].tills[0].customerAccess',
    );
    expect(refusedField(CreateOrgBody, { name: 5 }, 'orgs[3]')).toBe('orgs[3].name');
  });
});
