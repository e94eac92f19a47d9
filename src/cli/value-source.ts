import { open } from 'node:fs/promises';
import { Limits } from '../common/limits.js';
import { UsageError, type ParsedArgs } from './client-args.js';

/**
 * The value of `put KEY VALUE | put KEY --file PATH | put KEY -` (stdin). A command-line argument is
 * capped by the OS (about 128 KiB on Linux), so larger values come from a file or a pipe. Reading stops
 * one byte past the value limit: a larger value is refused here, naming the limit, without reading it all.
 */
export async function readValueArg(args: ParsedArgs, stdin: NodeJS.ReadableStream): Promise<Buffer> {
  const inline = args.positionals[1];
  const file = args.flags.get('file');
  if (typeof file === 'string') {
    if (inline !== undefined) throw new UsageError('give the value either inline, with --file or as - (stdin), not both');
    return readFileCapped(file);
  }
  if (inline === undefined) throw new UsageError('usage: raftkv put KEY (VALUE | --file PATH | -)');
  if (inline === '-') return readStreamCapped(stdin, 'stdin');
  return Buffer.from(inline, 'utf8');
}

function tooLarge(what: string): UsageError {
  return new UsageError(`the value from ${what} is over ${Limits.valueBytesMax} bytes, the largest value the cluster accepts (valueBytesMax)`);
}

async function readFileCapped(path: string): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new UsageError(`cannot read --file ${JSON.stringify(path)}: ${(e as Error).message}`);
  }
  try {
    return await readStreamCapped(fh.createReadStream({ autoClose: false }), JSON.stringify(path));
  } finally {
    await fh.close();
  }
}

async function readStreamCapped(stream: NodeJS.ReadableStream, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    total += b.length;
    if (total > Limits.valueBytesMax) throw tooLarge(what);
    chunks.push(b);
  }
  return Buffer.concat(chunks, total);
}
