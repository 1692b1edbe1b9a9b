// The shared corpus of real domain definitions (libvirt's and virt-manager's
// test data), when this machine has it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseXmlDocument } from '../../lib/domain/xml.ts';
import { checkoutRoot } from './apparmor-parser.ts';

export const corpusDir = process.env['VIRT_AA_HOOK_CORPUS'] ?? path.resolve(checkoutRoot, '../shared/corpus');
export const corpusPresent = fs.existsSync(path.join(corpusDir, 'libvirt.tsv'));

export interface CorpusFile {
  readonly file: string;
  readonly name: string;
  /**
   * libvirt.tsv's verdict. virt-manager's test data has no verdict; several of
   * its files hold two documents (install and boot phase) or a non-domain root,
   * which libvirt would not accept as one definition either, and a few lack
   * the <name> libvirt requires.
   */
  readonly libvirtAccepts: boolean;
  readonly domainType: string | undefined;
}

export function corpusFiles(): readonly CorpusFile[] {
  if (!corpusPresent) return [];
  const verdicts = new Map(
    fs
      .readFileSync(path.join(corpusDir, 'libvirt.tsv'), 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.split('\t'))
      .map(([name, verdict]) => [name ?? '', verdict === 'yes'] as const),
  );
  return ['libvirt', 'virt-manager'].flatMap((sub) =>
    fs
      .readdirSync(path.join(corpusDir, sub))
      .filter((f) => f.endsWith('.xml'))
      .sort()
      .map((name) => {
        const file = path.join(corpusDir, sub, name);
        const text = fs.readFileSync(file, 'utf8');
        const domainType = /<domain\s[^>]*?type=["']([^"']*)["']/.exec(text)?.[1];
        const accepts = sub === 'virt-manager' ? isSingleDomainDocument(text) : verdicts.get(name) === true;
        return { file, name: `${sub}/${name}`, libvirtAccepts: accepts, domainType };
      }),
  );
}

function isSingleDomainDocument(text: string): boolean {
  try {
    const root = parseXmlDocument(text);
    return root.tag === 'domain' && root.childText('name') !== undefined;
  } catch {
    return false;
  }
}

export const qemuTypes: ReadonlySet<string> = new Set(['kvm', 'qemu', 'test']);
