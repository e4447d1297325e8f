// The expression language of the Debug Console, watches, hovers, breakpoint
// conditions and log points: registers, symbols and numbers combined with C
// operators, plus memory operands in assembler style.
//
//   rax + 8            [rsp+16]            qword [gs:0x10]         dword ptr [rbp-4]
//   $rax, %rax         *rsp (default size) counter (a symbol: its address)
//   rflags & 0x200     cr0 >> 31           al == 0x41 && rcx != 0   1000h, 0b101, 42
//
// Values are unsigned 64-bit bigints (arithmetic wraps). Memory operands read
// through the environment (the target's gva space), default size is the
// vCPU's word: 8 bytes in 64-bit code, 4 otherwise. The parser knows nothing
// of any target: names resolve through EvalEnv.

export interface EvalEnv {
  /** A register by name, including parts ("eax", "al") and segment fields ("fs.base"); undefined if unknown. */
  register(name: string): bigint | undefined;
  /** Base of a segment register for a `seg:` override. */
  segmentBase(seg: string): bigint | undefined;
  /** A symbol's address, undefined if unknown. */
  symbol(name: string): bigint | undefined;
  /** Reads `size` bytes little-endian; throws an Error naming the address when unreadable. */
  readMemory(address: bigint, size: number): bigint;
  /** Default operand size for memory operands without a size. */
  defaultSize: number;
}

/** The result: a value, and where it lives when the expression is a memory operand (for watches and data breakpoints). */
export interface EvalResult { value: bigint; memory?: { address: bigint; size: number }; symbol?: string }

export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
}

type Tok =
  | { t: 'num'; v: bigint }
  | { t: 'id'; v: string }
  | { t: 'op'; v: string }
  | { t: 'end' };

const MASK = (1n << 64n) - 1n;
const SIZES: Readonly<Record<string, number>> = { byte: 1, word: 2, dword: 4, qword: 8 };
const SEGS = new Set(['cs', 'ds', 'es', 'fs', 'gs', 'ss']);
const OPS = ['<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '+', '-', '*', '/', '%', '&', '|', '^', '~', '!', '<', '>', '(', ')', '[', ']', ':'];

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) { i++; continue; }
    const rest = src.slice(i);
    const num = /^(0x[0-9a-f_]+|0b[01_]+|0o[0-7_]+|[0-9][0-9a-f_]*h(?![\w.])|[0-9][0-9_]*)/i.exec(rest);
    if (num && /^[0-9]/.test(c)) {
      let text = num[0].replace(/_/g, '');
      if (/h$/i.test(text) && !/^0x/i.test(text)) text = '0x' + text.slice(0, -1);
      out.push({ t: 'num', v: BigInt(text) & MASK });
      i += num[0].length;
      if (/^[\w.]/.test(src.slice(i))) throw new ExpressionError(`malformed number near "${rest.slice(0, 12)}"`);
      continue;
    }
    const id = /^[$%]?[A-Za-z_.@][\w.@$]*/.exec(rest);
    if (id) { out.push({ t: 'id', v: id[0].replace(/^[$%]/, '') }); i += id[0].length; continue; }
    const op = OPS.find((o) => rest.startsWith(o));
    if (!op) throw new ExpressionError(`unexpected "${c}"`);
    out.push({ t: 'op', v: op });
    i += op.length;
  }
  out.push({ t: 'end' });
  return out;
}

/** Binary operators by precedence (higher binds tighter). */
const BINARY: Readonly<Record<string, number>> = {
  '||': 1, '&&': 2, '|': 3, '^': 4, '&': 5, '==': 6, '!=': 6, '<': 7, '<=': 7, '>': 7, '>=': 7,
  '<<': 8, '>>': 8, '+': 9, '-': 9, '*': 10, '/': 10, '%': 10,
};

class Parser {
  private pos = 0;
  /** Set when the whole expression is one memory operand. */
  lastMemory: { address: bigint; size: number } | undefined;
  lastSymbol: string | undefined;

  constructor(private readonly toks: Tok[], private readonly env: EvalEnv) {}

  private peek(): Tok { return this.toks[this.pos]!; }
  private next(): Tok { return this.toks[this.pos++]!; }
  private isOp(v: string): boolean { const t = this.peek(); return t.t === 'op' && t.v === v; }
  private expect(v: string): void {
    if (!this.isOp(v)) throw new ExpressionError(`expected "${v}"`);
    this.pos++;
  }

  parseAll(): EvalResult {
    const value = this.binary(0);
    if (this.peek().t !== 'end') throw new ExpressionError(`unexpected "${describe(this.peek())}"`);
    return { value, ...(this.lastMemory ? { memory: this.lastMemory } : {}), ...(this.lastSymbol ? { symbol: this.lastSymbol } : {}) };
  }

  private binary(minPrec: number): bigint {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      const prec = t.t === 'op' ? BINARY[t.v] : undefined;
      if (prec === undefined || prec <= minPrec) return left;
      this.pos++;
      this.lastMemory = undefined;
      this.lastSymbol = undefined;
      const right = this.binary(prec);
      left = apply((t as { v: string }).v, left, right);
    }
  }

  private unary(): bigint {
    const t = this.peek();
    if (t.t === 'op' && (t.v === '-' || t.v === '~' || t.v === '!' || t.v === '+' || t.v === '*')) {
      this.pos++;
      const v = this.unary();
      this.lastSymbol = undefined;
      switch (t.v) {
        case '-': this.lastMemory = undefined; return (-v) & MASK;
        case '~': this.lastMemory = undefined; return ~v & MASK;
        case '!': this.lastMemory = undefined; return v === 0n ? 1n : 0n;
        case '*': return this.deref(v, this.env.defaultSize);
        default: return v;
      }
    }
    return this.primary();
  }

  private primary(): bigint {
    const t = this.next();
    if (t.t === 'num') return t.v;
    if (t.t === 'op' && t.v === '(') {
      const v = this.binary(0);
      this.expect(')');
      return v;
    }
    if (t.t === 'op' && t.v === '[') return this.memory(this.env.defaultSize);
    if (t.t === 'id') {
      const lower = t.v.toLowerCase();
      const size = SIZES[lower];
      if (size !== undefined && (this.isOp('[') || (this.peek().t === 'id' && (this.peek() as { v: string }).v.toLowerCase() === 'ptr'))) {
        if (!this.isOp('[')) this.pos++; // "ptr"
        this.expect('[');
        return this.memory(size);
      }
      const r = this.env.register(lower);
      if (r !== undefined) return r & MASK;
      const s = this.env.symbol(t.v);
      if (s !== undefined) { this.lastSymbol = t.v; return s & MASK; }
      throw new ExpressionError(`unknown name "${t.v}" (not a register or symbol)`);
    }
    throw new ExpressionError(t.t === 'end' ? 'expression ends too early' : `unexpected "${describe(t)}"`);
  }

  /** After "[": optional "seg:" then an address expression, then "]". */
  private memory(size: number): bigint {
    let base = 0n;
    const t = this.peek();
    const after = this.toks[this.pos + 1];
    if (t.t === 'id' && SEGS.has(t.v.toLowerCase()) && after?.t === 'op' && after.v === ':') {
      base = this.env.segmentBase(t.v.toLowerCase()) ?? 0n;
      this.pos += 2;
    }
    const off = this.binary(0);
    this.expect(']');
    return this.deref((base + off) & MASK, size);
  }

  private deref(address: bigint, size: number): bigint {
    const v = this.env.readMemory(address, size);
    this.lastMemory = { address, size };
    this.lastSymbol = undefined;
    return v;
  }
}

function describe(t: Tok): string {
  return t.t === 'end' ? 'end of expression' : t.t === 'num' ? '0x' + t.v.toString(16) : t.v;
}

function apply(op: string, a: bigint, b: bigint): bigint {
  switch (op) {
    case '+': return (a + b) & MASK;
    case '-': return (a - b) & MASK;
    case '*': return (a * b) & MASK;
    case '/': if (b === 0n) throw new ExpressionError('division by zero'); return a / b;
    case '%': if (b === 0n) throw new ExpressionError('division by zero'); return a % b;
    case '&': return a & b;
    case '|': return a | b;
    case '^': return a ^ b;
    case '<<': return b >= 64n ? 0n : (a << b) & MASK;
    case '>>': return b >= 64n ? 0n : a >> b;
    case '==': return a === b ? 1n : 0n;
    case '!=': return a !== b ? 1n : 0n;
    case '<': return a < b ? 1n : 0n;
    case '<=': return a <= b ? 1n : 0n;
    case '>': return a > b ? 1n : 0n;
    case '>=': return a >= b ? 1n : 0n;
    case '&&': return a !== 0n && b !== 0n ? 1n : 0n;
    case '||': return a !== 0n || b !== 0n ? 1n : 0n;
  }
  throw new ExpressionError(`unknown operator ${op}`);
}

/** Evaluates an expression; throws ExpressionError (or the environment's Error) with a one-line message. */
export function evaluateExpression(src: string, env: EvalEnv): EvalResult {
  const text = src.trim();
  if (!text) throw new ExpressionError('empty expression');
  return new Parser(tokenize(text), env).parseAll();
}
