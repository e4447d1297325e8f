// The loader's public face: read an image file and turn it into a
// LoadedImage (load.ts decides the format and boot protocol), plus the
// lookups the adapter needs. The only file here that touches the file system;
// browser code imports load.ts and lookup.ts directly.

import { readFileSync } from 'node:fs';
import { loadImageBytes, loadSymbolBytes, type LoadOptions } from './load';
import { ImageError, type GuestSymbol, type LineEntry, type LoadedImage } from './types';

export * from './types';
export { loadImageBytes, loadSymbolBytes, type LoadOptions } from './load';
export { addressToLine, lineToAddresses, symbolAt } from './lookup';
export {
  buildMultibootInfo,
  DEFAULT_MULTIBOOT_INFO_ADDR,
  MULTIBOOT_BOOTLOADER_MAGIC,
  MULTIBOOT_HEADER_MAGIC,
  type MultibootInfoOptions,
} from './multiboot';
export { RESET_IMAGE_SIZE, RESET_LOAD_ADDR, RESET_VECTOR } from './flat';

function readImage(path: string, what: string): Uint8Array {
  try {
    const buf = readFileSync(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // The errno code (ENOENT, EISDIR, EACCES) is the useful part of Node's message.
    throw new ImageError(`cannot read ${what} ${path}: ${code ?? (e instanceof Error ? e.message : String(e))}`);
  }
}

export function loadImage(path: string, opts: LoadOptions = {}): LoadedImage {
  return loadImageBytes(readImage(path, 'image'), path, opts);
}

/** An extra ELF file for symbols and source lines only (launch attribute "symbols"). */
export function loadSymbols(path: string): { symbols: GuestSymbol[]; lines: LineEntry[]; warnings: string[] } {
  return loadSymbolBytes(readImage(path, 'symbol file'));
}
