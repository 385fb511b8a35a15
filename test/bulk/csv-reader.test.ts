import { describe, expect, it } from 'vitest';
import { CsvError, CsvParser, csvLine } from '../../src/bulk/csv-reader.js';

/** Parses `text` fed in pieces of `size` characters (so that every piece boundary gets crossed). */
function parse(text: string, size = text.length || 1): { fields: string[]; row: number; line: number }[] {
  const parser = new CsvParser();
  const out = [];
  for (let i = 0; i < text.length; i += size) out.push(...parser.push(text.slice(i, i + size)));
  out.push(...parser.end());
  return out;
}

function error(text: string): CsvError {
  try {
    parse(text);
  } catch (err) {
    if (err instanceof CsvError) return err;
    throw err;
  }
  throw new Error('expected a CsvError');
}

describe('the CSV reader', () => {
  const sample = '\uFEFFid,"name, full",note\r\n1,"Ann ""A"" Lee","two\r\nlines"\r\n2,,\n\n3,x,"y"';
  for (const size of [1, 2, 3, 7, 1000]) {
    it(`reads RFC 4180 quoting, CRLF, LF and a BOM, in pieces of ${size}`, () => {
      expect(parse(sample, size)).toEqual([
        { fields: ['id', 'name, full', 'note'], row: 1, line: 1 },
        { fields: ['1', 'Ann "A" Lee', 'two\r\nlines'], row: 2, line: 2 },
        { fields: ['2', '', ''], row: 3, line: 4 },
        { fields: [''], row: 4, line: 5 },
        { fields: ['3', 'x', 'y'], row: 5, line: 6 },
      ]);
    });
  }

  it('ends a record on a lone CR, and adds none for a final line break', () => {
    expect(parse('a\rb\r\n').map((r) => r.fields)).toEqual([['a'], ['b']]);
    expect(parse('')).toEqual([]);
    expect(parse('a,\n').map((r) => r.fields)).toEqual([['a', '']]);
  });

  it('names the row of a quote never closed, a stray quote, and text after a closing quote', () => {
    expect(error('a\n"b,c\nd\n').message).toMatch(/^row 2: a quoted field opened on line 2 is never closed/);
    expect(error('a\nb"c\n').message).toMatch(/^row 2: a quote/);
    expect(error('"a"b\n').message).toMatch(/^row 1: text after the closing quote/);
    expect(error('"a\nb"\n"c"x').message).toMatch(/^row 2 \(line 3\): text after/);
  });

  it('bounds a field, so that an unclosed quote cannot take all memory', () => {
    expect(() => parse(`"${'x'.repeat(5000)}`)).toThrow(/longer than 4096 characters/);
  });

  it('writes fields back, quoting those that need it', () => {
    expect(csvLine([1, 'a,b', 'say "hi"', undefined, 'x\ny'])).toBe('1,"a,b","say ""hi""",,"x\ny"\r\n');
    expect(parse(csvLine(['a,b', 'say "hi"', 'x\ny']))[0]?.fields).toEqual(['a,b', 'say "hi"', 'x\ny']);
  });
});
