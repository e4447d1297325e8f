// Source files of the guest image as DAP Source objects, and the lookups
// between addresses and source lines. DWARF file names may be relative (the
// samples record their directory as "."): they are resolved against the
// image's directory so VS Code can open them.

import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { Source } from '@vscode/debugadapter';
import { addressToLine, symbolAt } from '../loader/lookup';
import type { LineEntry, LoadedImage } from '../loader/types';

export class SourceMap {
  private readonly dir: string;

  constructor(private readonly image: LoadedImage | undefined) {
    this.dir = image ? dirname(resolve(image.path)) : process.cwd();
  }

  get hasLines(): boolean { return (this.image?.lines.length ?? 0) > 0; }

  resolvePath(file: string): string {
    return isAbsolute(file) ? file : resolve(this.dir, file);
  }

  source(file: string): Source {
    const path = this.resolvePath(file);
    return new Source(basename(path), path);
  }

  /** The line-table row covering an address, if any. */
  lineAt(address: bigint): LineEntry | undefined {
    return this.image ? addressToLine(this.image.lines, address) : undefined;
  }

  /** "kmain+0x12", or undefined when no symbol covers the address. */
  symbolName(address: bigint): string | undefined {
    const s = this.image ? symbolAt(this.image.symbols, address) : undefined;
    if (!s) return undefined;
    return s.offset === 0n ? s.symbol.name : `${s.symbol.name}+0x${s.offset.toString(16)}`;
  }

  /** The symbol starting exactly at an address (a label in disassembly). */
  labelAt(address: bigint): string | undefined {
    const s = this.image ? symbolAt(this.image.symbols, address) : undefined;
    return s && s.offset === 0n ? s.symbol.name : undefined;
  }

  /** Whether an address is the start of a function symbol. */
  isFunctionStart(address: bigint): boolean {
    const s = this.image ? symbolAt(this.image.symbols, address) : undefined;
    return s !== undefined && s.offset === 0n;
  }

  /** Every distinct source file of the line table. */
  files(): string[] {
    return [...new Set((this.image?.lines ?? []).filter((l) => l.file !== '' && !l.endSequence).map((l) => l.file))];
  }
}
