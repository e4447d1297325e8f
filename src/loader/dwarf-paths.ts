// Path joining for DWARF file names without node:path, so the loader's pure
// part runs in a browser too. Handles POSIX paths and Windows drive/UNC
// paths (a toolchain on Windows writes those into .debug_line).

export function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || p.startsWith('\\\\') || /^[A-Za-z]:[\\/]/.test(p);
}

/** Joins and normalizes: collapses "." and "..", duplicate separators, keeps the root. */
export function joinPath(dir: string, name: string): string {
  if (isAbsolutePath(name) || dir === '') return normalizePath(name);
  const sep = dir.includes('\\') && !dir.includes('/') ? '\\' : '/';
  return normalizePath(dir.endsWith('/') || dir.endsWith('\\') ? dir + name : dir + sep + name);
}

export function normalizePath(p: string): string {
  if (p === '') return p;
  const sep = p.includes('\\') && !p.includes('/') ? '\\' : '/';
  const m = /^(\\\\|\/|[A-Za-z]:[\\/])/.exec(p);
  const root = m ? m[0] : '';
  const parts: string[] = [];
  for (const part of p.slice(root.length).split(/[\\/]+/)) {
    if (part === '' || part === '.') continue;
    // ".." pops a real component; at the root it stays put; in a relative path it is kept.
    if (part === '..' && parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
    else if (part === '..' && root !== '') continue;
    else parts.push(part);
  }
  const body = parts.join(sep);
  return root + body || '.';
}
