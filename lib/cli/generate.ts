// `virt-aa-hook generate [FILE|-]`: the per-VM rules, the full profile, the
// structured rules or the annotated view, for one domain XML, with the
// configuration's settings for that domain, as the hook would make them.

import * as path from 'node:path';
import type { Argv } from 'yargs';
import { parseDomain } from '../domain/parse.ts';
import { readRequiredFile } from '../apparmor/files.ts';
import { oneLine } from '../errors.ts';
import { hostContext } from '../profile-store.ts';
import { loadConfig } from '../config.ts';
import { inlineProfileText, synthesizeProfile } from '../generate.ts';
import { localFs } from '../host/host-fs.ts';
import { bundledTemplateRelative, packageRoot } from '../package-root.ts';
import { profileJson, renderExplained, renderRules } from '../profile/render.ts';
import { readDomainXml } from '../read-input.ts';
import type { GlobalArgs } from './context.ts';
import type { CliIo } from './io.ts';

export interface GenerateArgs extends GlobalArgs {
  readonly file: string | undefined;
  readonly profile: boolean | undefined;
  readonly json: boolean | undefined;
  readonly explain: boolean | undefined;
  readonly template: string | undefined;
  readonly root: string;
}

export function generateBuilder(y: Argv): Argv<GenerateArgs> {
  return y
    .positional('file', { type: 'string', describe: 'domain XML file (- or nothing: standard input)' })
    .option('profile', { type: 'boolean', describe: 'print the complete profile, not only the per-VM rules' })
    .option('json', { type: 'boolean', describe: 'print the rules with their reasons as JSON' })
    .option('explain', { type: 'boolean', describe: 'annotate every rule with the device that asked for it' })
    .option('template', { type: 'string', describe: `profile template (default: the shipped ${bundledTemplateRelative})` })
    .option('root', { type: 'string', default: '/', describe: 'resolve host paths below this directory instead of /', hidden: true })
    .conflicts('json', ['profile', 'explain']) as unknown as Argv<GenerateArgs>;
}

export function runGenerate(args: GenerateArgs, io: CliIo): void {
  const config = loadConfig(args['config-file']);
  const domain = parseDomain(readDomainXml(args.file));
  // The image record is read, never written: generate loads nothing.
  const profile = synthesizeProfile(domain, hostContext(domain, config, localFs(args.root)));
  for (const notice of profile.notices) io.stderr(`virt-aa-hook: warning: ${oneLine(`domain '${domain.name}', ${notice.reason.device}: ${notice.message}`)}`);
  if (args.json === true) {
    io.stdout(`${JSON.stringify(profileJson(profile), null, 2)}\n`);
    return;
  }
  const rules = args.explain === true ? renderExplained(profile) : renderRules(profile);
  if (args.profile !== true) {
    io.stdout(rules);
    return;
  }
  const templatePath = args.template ?? path.join(packageRoot(), bundledTemplateRelative);
  io.stdout(inlineProfileText(profile, rules, readRequiredFile(templatePath, 'profile template'), templatePath));
}
