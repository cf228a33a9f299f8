/**
 * A small reader for quiche.h: enough C to list its function declarations
 * (with parameter counts) and the fields of its `typedef struct { ... } name;`
 * blocks. It works on the exact header libquiche was built from.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The header shipped next to the prebuilt libquiche.so. */
export const HEADER_PATH = fileURLToPath(
  new URL('../../../libquiche-linux-x64-gnu/quiche.h', import.meta.url),
);
/** quichex's glue header (vendor/quiche/include), shipped next to quiche.h. */
export const GLUE_HEADER_PATH = fileURLToPath(
  new URL('../../../libquiche-linux-x64-gnu/quichex.h', import.meta.url),
);
/** The prebuilt libquiche.so. */
export const LIBRARY_PATH = fileURLToPath(
  new URL('../../../libquiche-linux-x64-gnu/libquiche.so', import.meta.url),
);

/** One function declared by the header. */
export interface DeclaredFunction {
  readonly name: string;
  /** Number of parameters; `(void)` and `()` count as 0. */
  readonly params: number;
  /** The declaration with whitespace collapsed, for messages. */
  readonly text: string;
}

/** Removes comments, the C++ `extern "C"` wrapper and every preprocessor line. */
export function stripHeader(source: string): string {
  let out = '';
  // Comments, outside string literals (quiche.h has "\x02h3" in a #define).
  for (let i = 0; i < source.length; ) {
    const c = source[i]!;
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += source[j] === '\\' ? 2 : 1;
      out += source.slice(i, j + 1);
      i = j + 1;
    } else if (source.startsWith('/*', i)) {
      const end = source.indexOf('*/', i + 2);
      i = end < 0 ? source.length : end + 2;
      out += ' ';
    } else if (source.startsWith('//', i)) {
      const end = source.indexOf('\n', i);
      i = end < 0 ? source.length : end;
    } else {
      out += c;
      i++;
    }
  }
  // Line continuations, then the C++-only blocks, then all directives.
  out = out.replace(/\\\n/g, ' ');
  out = out.replace(/^[ \t]*#if defined\(__cplusplus\)[\s\S]*?^[ \t]*#endif.*$/gm, '');
  return out.replace(/^[ \t]*#.*$/gm, '');
}

/** Splits `text` on `sep` where no (), [] or {} is open. */
export function splitTopLevel(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === sep && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** Every function declaration of a header, in order. */
export function parseFunctions(source: string): DeclaredFunction[] {
  const out: DeclaredFunction[] = [];
  for (const raw of splitTopLevel(stripHeader(source), ';')) {
    const decl = raw.replace(/\s+/g, ' ').trim();
    if (decl.includes('{')) continue; // enum and struct definitions
    // `<return type> <name>(<params>)` where the name is the first identifier
    // directly followed by '(' and the declaration ends with the matching ')'.
    const m = /^([^()]*?)\b(quichex?_\w+)\s*\(([\s\S]*)\)$/.exec(decl);
    if (!m) continue;
    const params = m[3]!.trim();
    const count = params === '' || params === 'void' ? 0 : splitTopLevel(params, ',').length;
    out.push({ name: m[2]!, params: count, text: decl });
  }
  return out;
}

/** One field of a struct as written in the header. */
export interface DeclaredField {
  readonly name: string;
  readonly type: string;
}

/** The fields of every `typedef struct { ... } name;` in the header, by typedef name. */
export function parseStructs(source: string): Map<string, DeclaredField[]> {
  const structs = new Map<string, DeclaredField[]>();
  const re = /typedef\s+struct\s*\{([^}]*)\}\s*(\w+)\s*;/g;
  for (const m of stripHeader(source).matchAll(re)) {
    const fields: DeclaredField[] = [];
    for (const member of m[1]!.split(';')) {
      const decl = member.replace(/\s+/g, ' ').trim();
      if (decl === '') continue;
      const f = /^(.*?)\s*\b(\w+)$/.exec(decl);
      if (!f) throw new Error(`cannot parse struct member ${JSON.stringify(decl)}`);
      fields.push({ name: f[2]!, type: f[1]!.trim() });
    }
    structs.set(m[2]!, fields);
  }
  return structs;
}

/** The header's text. */
export function readHeader(): string {
  return readFileSync(HEADER_PATH, 'utf8');
}
