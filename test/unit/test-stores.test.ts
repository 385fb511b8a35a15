import { describe, expect, it } from 'vitest';
import { parseTestStores } from '../helpers/stores.js';

describe('TEST_STORES', () => {
  it('names the stores to run, in order, each once', () => {
    expect(parseTestStores('sqlite,postgres')).toEqual(['sqlite', 'postgres']);
    expect(parseTestStores(' postgres , sqlite ')).toEqual(['postgres', 'sqlite']);
    expect(parseTestStores('sqlite')).toEqual(['sqlite']);
    expect(parseTestStores('postgres,postgres')).toEqual(['postgres']);
  });

  it('fails with a message on a name it does not know, rather than running fewer stores', () => {
    expect(() => parseTestStores('sqlite,pg')).toThrow(
      'TEST_STORES="sqlite,pg" names unknown stores (pg): give a comma-separated list of sqlite and postgres.',
    );
    expect(() => parseTestStores('mysql')).toThrow(/names unknown stores \(mysql\)/);
  });

  it('fails with a message when it names no store', () => {
    expect(() => parseTestStores('')).toThrow('TEST_STORES="" names no store');
    expect(() => parseTestStores(' , ')).toThrow(/names no store/);
  });
});
