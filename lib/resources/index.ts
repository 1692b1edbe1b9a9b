// Every resource module, in the order their rules appear in a profile.

import { audio } from './audio.ts';
import { boot } from './boot.ts';
import { chardevs } from './chardevs.ts';
import { disks } from './disks.ts';
import { filesystems } from './filesystems.ts';
import { firmware } from './firmware.ts';
import { graphics } from './graphics.ts';
import { hostdevs } from './hostdevs.ts';
import { input } from './input.ts';
import { interfaces } from './interfaces.ts';
import { memory } from './memory.ts';
import { qemuCommandline } from './qemu-commandline.ts';
import { redirdev } from './redirdev.ts';
import type { ResourceModule } from './resource.ts';
import { rng } from './rng.ts';
import { runtime } from './runtime.ts';
import { shmem } from './shmem.ts';
import { smartcard } from './smartcard.ts';
import { sysinfo } from './sysinfo.ts';
import { tpm } from './tpm.ts';
import { vsock } from './vsock.ts';

export const resourceModules: readonly ResourceModule[] = [
  runtime,
  disks,
  boot,
  firmware,
  sysinfo,
  chardevs,
  graphics,
  hostdevs,
  filesystems,
  interfaces,
  input,
  rng,
  tpm,
  memory,
  shmem,
  smartcard,
  redirdev,
  vsock,
  audio,
  qemuCommandline,
];
