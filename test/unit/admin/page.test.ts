import { describe, expect, it } from 'vitest';
import { cutPage, parsePage } from '../../../src/admin/page.js';
import { AppError } from '../../../src/errors.js';

describe('the management API page parser', () => {
  it('starts at the beginning with 100 rows when nothing is asked', () => {
    expect(parsePage()).toEqual({ after: 0, limit: 100 });
    expect(parsePage({ cursor: '' })).toEqual({ after: 0, limit: 100 });
  });

  it('takes a cursor of digits and the given limit', () => {
    expect(parsePage({ limit: 7, cursor: '42' })).toEqual({ after: 42, limit: 7 });
  });

  it('refuses a cursor this API never gave, naming cursor', () => {
    for (const cursor of ['not-a-cursor', '-1', '1.5', '99999999999999999']) {
      const refusal = (() => {
        try {
          parsePage({ cursor });
        } catch (err) {
          return err;
        }
      })();
      expect(refusal, cursor).toBeInstanceOf(AppError);
      expect((refusal as AppError).field).toBe('cursor');
    }
  });

  it('cuts a page from limit + 1 rows, the cursor being the last answered id', () => {
    const rows = [{ id: 3 }, { id: 5 }, { id: 9 }];
    expect(cutPage(rows, { after: 0, limit: 2 }, (r) => r.id)).toEqual({
      items: [{ id: 3 }, { id: 5 }],
      nextCursor: '5',
    });
    expect(cutPage(rows, { after: 0, limit: 3 }, (r) => r.id)).toEqual({ items: rows, nextCursor: null });
    expect(cutPage([], { after: 0, limit: 3 }, (r: { id: number }) => r.id)).toEqual({
      items: [],
      nextCursor: null,
    });
  });
});
