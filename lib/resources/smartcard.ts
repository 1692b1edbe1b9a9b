// <smartcard>: an NSS certificate database read by QEMU's emulated reader,
// or a passthrough character device.

import { devicesOf } from '../domain/types.ts';
import { patternAccess, reason, type Access } from '../profile/access.ts';
import type { ResourceModule } from './resource.ts';
import { chardevAccesses } from './chardev-paths.ts';

const defaultDatabase = '/etc/pki/nssdb';

export const smartcard: ResourceModule = {
  name: 'smartcard',
  accesses: ({ domain }) =>
    devicesOf(domain, 'smartcard').flatMap((card): readonly Access[] => {
      if (card.chardev !== undefined) return chardevAccesses(card.chardev, card.label);
      if (card.mode !== 'host' && card.mode !== 'host-certificates') return [];
      const database = (card.mode === 'host-certificates' ? card.database : undefined) ?? defaultDatabase;
      const base = database.endsWith('/') ? database.slice(0, -1) : database;
      const why = reason(card.label, 'NSS certificate database');
      const origin = database === defaultDatabase ? 'derived' : 'xml';
      return [patternAccess([`${base}/`], 'r', why, origin), patternAccess([`${base}/`, { wildcard: 'any' }], 'rk', why, origin)];
    }),
};
