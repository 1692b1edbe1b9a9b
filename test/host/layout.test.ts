import test from 'ava';
import { shortNameVariants } from '../../lib/host/layout.ts';
import { patternText } from '../../lib/policy/escape.ts';

const anyId = '[0-9]{,[0-9]}{,[0-9]}{,[0-9]}{,[0-9]}{,[0-9]}{,[0-9]}{,[0-9]}{,[0-9]}{,[0-9]}';

const variants = test.macro({
  exec(t, id: number | undefined, name: string, expected: readonly string[]) {
    t.deepEqual(shortNameVariants(id, name).map(patternText), expected);
  },
  title: (_given, id: number | undefined, name: string) => `short name of ${JSON.stringify(name)} with id ${String(id)}`,
});

test(variants, 7, 'web-01', [`${anyId}-web-01`]);
test(variants, 7, '12345678901234567890', [`${anyId}-12345678901234567890`]);
test(variants, 7, '123456789012345678901', ['7-12345678901234567890']);
test(variants, undefined, '123456789012345678901', [`${anyId}-12345678901234567890`]);
test(variants, 7, 'vm\\[1\\]', [`${anyId}-vm\\x5c\\[1\\x5c\\]`]);
test(variants, 12, 'Größenwahn-Übersetzungsmaschine', ['12-Größenwahn-Übersetzu', '12-Größenwahn-Überse*']);
test(variants, 12, 'Größenwahn', [`${anyId}-Größenwahn`]);
