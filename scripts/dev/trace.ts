import { loadImage } from '../../src/loader';
import { Machine } from '../../src/engine/machine';
import { Decoder, DecoderOptions, Instruction, Formatter, FormatterSyntax } from 'iced-x86';
const img = loadImage(process.argv[2]!);
const m = new Machine({ memoryMiB: 128, cpus: 1 });
m.load(img);
const c = m.cpus[0]!;
c.jitEnabled = false;
const fmt = new Formatter(FormatterSyntax.Intel);
const hist: string[] = [];
for (let i = 0; i < Number(process.argv[3] ?? 20000); i++) {
  const la = c.ripLinear();
  const bytes = m.mem.bytes.slice(la, la + 15);
  const d = new Decoder(c.bits, bytes, DecoderOptions.None); d.ip = BigInt(c.rip); const ins = new Instruction(); d.decodeOut(ins);
  hist.push(`${c.icount} ${c.rip.toString(16)} ${fmt.format(ins)}  esp=${(c.rl[4]!>>>0).toString(16)}`);
  d.free(); ins.free();
  if (c.rip < 0x100000 && hist.length > 1) { console.log('left the image:'); break; }
  const out = m.step(0);
  if (out.kind !== 'budget') { console.log(out); break; }
}
console.log(hist.slice(-25).join('\n'));
