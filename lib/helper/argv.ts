// virt-aa-helper's command line, read the way libvirt's own helper reads it
// (getopt_long with "acdDhrRH:b:u:p:f:F:"): short options may be bundled
// (`-dr`), an option's argument may be attached (`-ulibvirt-...`), long
// options may be abbreviated while unambiguous and take `=VALUE`, and
// operands are ignored. libvirtd runs it as `-c|-r -u libvirt-<uuid>
// [-F|-f FILE]`, `-D -u ...` and `-R -u ...`.

import { canonicalUuid } from '../domain/parse-values.ts';

export type HelperCommand = 'add' | 'create' | 'delete' | 'replace' | 'remove';

export type HelperArgv =
  | {
      readonly kind: 'command';
      readonly command: HelperCommand;
      readonly dryRun: boolean;
      /** As given, checked later: libvirt answers "invalid UUID" only once the command is known. */
      readonly uuid: string | undefined;
      readonly file: { readonly path: string; readonly append: boolean } | undefined;
    }
  | { readonly kind: 'help' }
  /** An option libvirt's helper knows but does not support (-p, -H, -b), or one it does not know: its answer is libvirt's business. */
  | { readonly kind: 'unsupported'; readonly option: string }
  | { readonly kind: 'bad-command' };

const commandOf: Readonly<Record<string, HelperCommand>> = { a: 'add', c: 'create', D: 'delete', r: 'replace', R: 'remove' };

const longOptions: readonly { readonly name: string; readonly short: string; readonly hasArg: boolean }[] = [
  { name: 'add', short: 'a', hasArg: false },
  { name: 'create', short: 'c', hasArg: false },
  { name: 'dryrun', short: 'd', hasArg: false },
  { name: 'delete', short: 'D', hasArg: false },
  { name: 'add-file', short: 'f', hasArg: true },
  { name: 'append-file', short: 'F', hasArg: true },
  { name: 'help', short: 'h', hasArg: false },
  { name: 'replace', short: 'r', hasArg: false },
  { name: 'remove', short: 'R', hasArg: false },
  { name: 'uuid', short: 'u', hasArg: true },
];

/** Short options with an argument; -H, -b and -p are accepted by getopt but refused by the helper. */
const shortWithArg = new Set(['H', 'b', 'u', 'p', 'f', 'F']);
const shortWithout = new Set(['a', 'c', 'd', 'D', 'h', 'r', 'R']);

function longOption(text: string): (typeof longOptions)[number] | undefined {
  const exact = longOptions.find((o) => o.name === text);
  if (exact !== undefined) return exact;
  const prefixed = longOptions.filter((o) => o.name.startsWith(text));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

export function parseHelperArgv(argv: readonly string[]): HelperArgv {
  let command: HelperCommand | undefined;
  let dryRun = false;
  let uuid: string | undefined;
  let file: { path: string; append: boolean } | undefined;
  const options: { short: string; value: string | undefined; as: string }[] = [];

  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '--') break;
    if (arg.startsWith('--')) {
      const [text = '', inline] = arg.slice(2).split(/=(.*)/s, 2);
      const option = longOption(text);
      if (option === undefined) return { kind: 'unsupported', option: arg };
      let value = inline;
      if (option.hasArg && value === undefined) {
        value = argv[i + 1];
        if (value === undefined) return { kind: 'unsupported', option: arg };
        i += 1;
      }
      if (!option.hasArg && value !== undefined) return { kind: 'unsupported', option: arg };
      options.push({ short: option.short, value, as: arg });
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') continue;
    for (let j = 1; j < arg.length; j += 1) {
      const letter = arg[j] ?? '';
      if (shortWithout.has(letter)) {
        options.push({ short: letter, value: undefined, as: `-${letter}` });
      } else if (shortWithArg.has(letter)) {
        let value = arg.slice(j + 1);
        if (value === '') {
          value = argv[i + 1] ?? '';
          if (argv[i + 1] === undefined) return { kind: 'unsupported', option: `-${letter}` };
          i += 1;
        }
        options.push({ short: letter, value, as: `-${letter}` });
        break;
      } else {
        return { kind: 'unsupported', option: `-${letter}` };
      }
    }
  }

  for (const { short, value, as } of options) {
    if (short === 'h') return { kind: 'help' };
    const cmd = commandOf[short];
    if (cmd !== undefined) command = cmd;
    else if (short === 'd') dryRun = true;
    else if (short === 'u') uuid = value;
    else if (short === 'f' || short === 'F') file = { path: value ?? '', append: short === 'F' };
    else return { kind: 'unsupported', option: as };
  }
  if (command === undefined) return { kind: 'bad-command' };
  return { kind: 'command', command, dryRun, uuid, file };
}

/** The UUID of `libvirt-<uuid>`, 44 characters in all, as libvirt's helper checks it (valid_uuid); canonical lower case. */
export function profileUuid(text: string | undefined): string | undefined {
  if (text === undefined || text.length !== 44 || !text.startsWith('libvirt-')) return undefined;
  return canonicalUuid(text.slice('libvirt-'.length));
}

export const helperUsage = `
virt-aa-helper mode [options] [extra file] [< def.xml]

  Modes:
    -a | --add                     load profile
    -c | --create                  create profile from template
    -D | --delete                  unload profile and delete generated rules
    -r | --replace                 reload profile
    -R | --remove                  unload profile
  Options:
    -d | --dryrun                  dry run
    -u | --uuid <uuid>             uuid (profile name)
    -h | --help                    this help
  Extra File:
    -f | --add-file <file>         add file to a profile generated from XML
    -F | --append-file <file>      append file to an existing profile

This is virt-aa-hook's virt-aa-helper: libvirtd runs it in place of libvirt's
own. It confines QEMU domains with virt-aa-hook's template and policy, and
hands everything else (LXC domains, options it does not know) to libvirt's
original helper. It is meant to be run by libvirtd, not by hand.
`;
