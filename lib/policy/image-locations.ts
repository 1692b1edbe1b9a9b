// Where a path named by an image header may lead. The header is the guest's
// to rewrite (a compromised QEMU writes its own image), so a backing file,
// external data file or vmdk extent is never under libvirt's per-domain state
// (another guest's NVRAM, save image, master key), root's home or /dev, and
// never in a directory the domain's chain did not use before: the XML's own
// image directories, storage-pool targets, the locations recorded at earlier
// starts and those the configuration allows. A domain never started under
// virt-aa-hook has no record yet: its chain is taken as it is, and recorded.

import * as path from 'node:path';
import { under } from './validate.ts';

export interface ImageLocations {
  /** Never granted from a header, the directory and everything below it. */
  readonly refused: readonly string[];
  /** Exact directories (resolved): the XML's own images, storage-pool targets. */
  readonly known: ReadonlySet<string>;
  /** Directories accepted at earlier starts (resolved); undefined: no record, the first start. */
  readonly recorded: ReadonlySet<string> | undefined;
  /** From the configuration (resolved): these directories and everything below them. */
  readonly configured: readonly string[];
  /** The configuration entry that would allow more, for the message: `domains.<key>`. */
  readonly settingsKey: string;
}

/** Why a header-named path may not be granted at all, or undefined. */
export function refusedImagePath(resolvedOrWritten: string, locations: ImageLocations): string | undefined {
  const hit = locations.refused.find((dir) => under(resolvedOrWritten, dir));
  return hit === undefined ? undefined : `${hit} is never followed from an image header`;
}

/** Why the directory of a header-named path is a new location, or undefined when it is not. */
export function newImageLocation(resolved: string, locations: ImageLocations): string | undefined {
  const dir = path.posix.dirname(resolved);
  if (locations.recorded === undefined || locations.recorded.has(dir) || locations.known.has(dir)) return undefined;
  if (locations.configured.some((allowed) => under(dir, allowed))) return undefined;
  return `its directory "${dir}" is a new location since the last start (if the image was rebased on purpose, allow the directory in "imageDirs" or "domains.${locations.settingsKey}.imageDirs" of the configuration)`;
}
