// Finds the files shipped beside the program (apparmor.d/), whether it runs
// from the TypeScript sources, the bundled build or an installed copy.

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const bundledTemplateRelative = 'apparmor.d/virt-aa-hook/TEMPLATE.qemu';

export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, bundledTemplateRelative))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find ${bundledTemplateRelative} beside the program`);
    dir = parent;
  }
}
