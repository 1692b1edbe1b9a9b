// The first code of each built file (scripts/build.mjs): runs the bundle
// stored after it through V8's code cache (lib/code-cache.ts). The build
// defines the bundle's facts; line 3 of the file names the cache directory,
// null in a build, filled in by scripts/install.

import { runBundle, type BundleInfo } from './code-cache.ts';

declare const VIRT_AA_HOOK_BUNDLE: Omit<BundleInfo, 'installedCacheDir'>;
declare const virtAaHookCodeCacheDir: string | null;
declare const __bundle_url: string;

runBundle({ ...VIRT_AA_HOOK_BUNDLE, installedCacheDir: virtAaHookCodeCacheDir }, { require, module, filename: __filename, dirname: __dirname, bundleUrl: __bundle_url });
