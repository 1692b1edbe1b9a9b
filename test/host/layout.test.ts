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
test(variants, 7, '1234567890123456789', [`${anyId}-1234567890123456789`]);
// Issue 12, finding 4: from 20 bytes on, a longer name's cut can be this name.
test(variants, 9, 'db-replica-east-0001', ['9-db-replica-east-0001']);
test(variants, 9, 'db-replica-east-00012', ['9-db-replica-east-0001']);
test(variants, 7, '123456789012345678901', ['7-12345678901234567890']);
test(variants, undefined, 'db-replica-east-0001', []);
test(variants, undefined, '123456789012345678901', []);
test(variants, undefined, 'web-01', [`${anyId}-web-01`]);
test(variants, 7, 'vm\\[1\\]', [`${anyId}-vm\\x5c\\[1\\x5c\\]`]);
test(variants, 12, 'Größenwahn-Übersetzungsmaschine', ['12-Größenwahn-Übersetzu', '12-Größenwahn-Überse*']);
test(variants, 12, 'Größenwahn', [`${anyId}-Größenwahn`]);
// Fewer than 20 characters but 20 bytes or more: the byte cut is a prefix, which needs the id.
test(variants, 12, 'ÄÄÄÄÄÄÄÄÄÄÄ', ['12-ÄÄÄÄÄÄÄÄÄÄÄ', '12-ÄÄÄÄÄÄÄÄÄÄ*']);
test(variants, undefined, 'ÄÄÄÄÄÄÄÄÄÄÄ', []);
