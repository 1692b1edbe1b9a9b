// Reads what the guest scripts wrote to results.tsv (guest/lib.sh, emit):
// E2E <TAB> kind <TAB> scenario <TAB> key <TAB> value, fields escaped.

export type RecordKind = 'begin' | 'check' | 'result' | 'fact' | 'stage';

export interface ResultRecord {
  readonly kind: RecordKind;
  readonly scenario: string;
  readonly key: string;
  readonly value: string;
}

const kinds: readonly string[] = ['begin', 'check', 'result', 'fact', 'stage'];

const unescape = (field: string): string => field.replace(/\\(\\|n|t)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : '\\'));

export function parseResults(text: string): readonly ResultRecord[] {
  const records: ResultRecord[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split('\t');
    const [tag, kind, scenario, key, value] = fields;
    if (fields.length !== 5 || tag !== 'E2E' || kind === undefined || !kinds.includes(kind)) continue;
    records.push({ kind: kind as RecordKind, scenario: scenario ?? '', key: unescape(key ?? ''), value: unescape(value ?? '') });
  }
  return records;
}

export interface ScenarioReport {
  readonly name: string;
  readonly description: string | undefined;
  /** PASS, FAIL, or undefined when the guest never finished it. */
  readonly result: string | undefined;
  readonly checks: readonly { readonly what: string; readonly ok: boolean; readonly detail: string }[];
  readonly facts: readonly { readonly key: string; readonly value: string }[];
  readonly ms: number | undefined;
}

export function scenarioReport(records: readonly ResultRecord[], name: string): ScenarioReport {
  const mine = records.filter((r) => r.scenario === name);
  return {
    name,
    description: mine.find((r) => r.kind === 'begin')?.value,
    result: mine.find((r) => r.kind === 'result')?.value,
    checks: mine.filter((r) => r.kind === 'check').map((r) => ({ what: r.key, ok: r.value === 'ok', detail: r.value.replace(/^fail: /, '') })),
    facts: mine.filter((r) => r.kind === 'fact').map((r) => ({ key: r.key, value: r.value })),
    ms: ((stage) => (stage === undefined ? undefined : Number(stage.value)))(mine.find((r) => r.kind === 'stage')),
  };
}

/** The guest's stages (setup, libvirtd, scenarios) with their milliseconds. */
export function stageTimes(records: readonly ResultRecord[]): ReadonlyMap<string, number> {
  return new Map(records.filter((r) => r.kind === 'stage' && r.scenario === '-').map((r) => [r.key, Number(r.value)]));
}
