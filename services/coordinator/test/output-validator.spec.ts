import { normalizeValidation, validateResult } from '../src/validation/output-validator';

describe('validation checkpoints', () => {
  it('catches placeholder text with the default patterns, names the path', () => {
    const spec = normalizeValidation({});
    const r = validateResult(spec, { title: 'Real', body: 'TODO: lorem ipsum dolor sit amet', items: ['fine', 'TBD'] });
    expect(r.passed).toBe(false);
    expect(r.failures.map((f) => [f.check, f.path])).toEqual([
      ['forbiddenPatterns', 'body'],
      ['forbiddenPatterns', 'items.1'],
    ]);
    expect(validateResult(spec, { body: 'Insert the placeholder here' }).passed).toBe(false);
    expect(validateResult(spec, { body: 'A todo list of things to do' }).passed).toBe(true);
  });

  it('required fields, non-empty, minimum size and a JSON schema', () => {
    const spec = normalizeValidation({
      requiredFields: ['title', 'meta.author'],
      nonEmpty: ['body', 'tags'],
      minSize: 60,
      jsonSchema: { type: 'object', properties: { title: { type: 'string', minLength: 3 } } },
      forbiddenPatterns: [],
    });
    const r = validateResult(spec, { title: 'ab', body: '   ', tags: [] });
    expect(r.failures.map((f) => `${f.check}:${f.path}`).sort()).toEqual(
      ['jsonSchema:title', 'minSize:', 'nonEmpty:body', 'nonEmpty:tags', 'requiredFields:meta.author'].sort(),
    );
    expect(validateResult(spec, { title: 'A title', meta: { author: 'me' }, body: 'text of the article', tags: ['x'] }).passed).toBe(true);
  });

  it('rejects an invalid schema or pattern at submit', () => {
    expect(() => normalizeValidation({ jsonSchema: { type: 'nonsense' } })).toThrow(/jsonSchema/);
    expect(() => normalizeValidation({ forbiddenPatterns: ['(unclosed'] })).toThrow(/forbiddenPatterns.0/);
  });
});
