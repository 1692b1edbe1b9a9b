// Reading libvirt's qemu.conf, whose `key = value` lines decide how QEMU runs.

/** The value of an uncommented `key = value` line of qemu.conf, as written. */
export function qemuConfValue(text: string, key: string): string | undefined {
  // One expression for the whole file (Debian's qemu.conf has about a thousand lines).
  const setting = new RegExp(`^${key}\\s*=`);
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => setting.test(l));
  return line?.slice(line.indexOf('=') + 1).trim();
}

/** A string setting without its quotes (`user = "libvirt-qemu"`); undefined when absent or not a string. */
export function qemuConfString(text: string, key: string): string | undefined {
  const value = qemuConfValue(text, key);
  const quoted = value === undefined ? undefined : /^"([^"]*)"\s*(#.*)?$/.exec(value);
  return quoted?.[1];
}
