/**
 * The koffi struct types agree with the C compiler on quiche.h: a C program
 * generated and compiled at test time prints sizeof/offsetof/alignof of every
 * field of every struct quiche.h defines, and fills sample structs with known
 * values that the decode* helpers must read back.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import koffi, { type TypeObject } from 'koffi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  decodeH3Stats,
  decodePathStats,
  decodeSendInfo,
  decodeStats,
  decodeTransportParams,
  H3Header,
  H3Priority,
  H3StatsType,
  PathStatsType,
  RecvInfoType,
  SendInfoLayout,
  SendInfoType,
  SOCKADDR_IN_LEN,
  SOCKADDR_IN6_LEN,
  StatsType,
  StructSize,
  TransportParamsType,
} from '../src/index.js';
import { type DeclaredField, HEADER_PATH, parseStructs, readHeader } from './support/header.js';

/** Each struct of quiche.h and the koffi type that mirrors it. */
const TYPES: Record<string, TypeObject> = {
  quiche_recv_info: RecvInfoType,
  quiche_send_info: SendInfoType,
  quiche_stats: StatsType,
  quiche_transport_params: TransportParamsType,
  quiche_path_stats: PathStatsType,
  quiche_h3_header: H3Header,
  quiche_h3_priority: H3Priority,
  quiche_h3_stats: H3StatsType,
};

/** Structs the C program fills with sample values for the decoders. */
const SAMPLED = [
  'quiche_send_info',
  'quiche_stats',
  'quiche_transport_params',
  'quiche_path_stats',
  'quiche_h3_stats',
];

const structs = parseStructs(readHeader());

/** The value the C program stores in a scalar field (by field index). */
function sampleValue(field: DeclaredField, index: number): bigint {
  if (field.type === 'bool') return 1n;
  if (field.type === 'ssize_t') return -BigInt(index + 2);
  if (field.type === 'uint64_t') return (1n << 60n) + BigInt(index);
  return BigInt(index * 1000 + 7); // size_t
}

/** C statements that fill `s` (a `name`) with the sample values. */
function fillStatements(name: string): string[] {
  const lines = [`memset(&s, 0, sizeof s);`];
  let addr = 0;
  for (const [i, f] of (structs.get(name) ?? []).entries()) {
    if (f.type === 'struct sockaddr_storage') {
      // First address: 10.1.2.3:1234; second: [2001:db8::1]:443 scope 0.
      const which = addr++ === 0 ? 'v4' : 'v6';
      lines.push(`memcpy(&s.${f.name}, &${which}, sizeof ${which});`);
    } else if (f.type === 'socklen_t') {
      lines.push(`s.${f.name} = sizeof ${addr === 1 ? 'v4' : 'v6'};`);
    } else if (f.type === 'struct timespec') {
      lines.push(`s.${f.name}.tv_sec = 5; s.${f.name}.tv_nsec = 6;`);
    } else {
      const v = sampleValue(f, i);
      lines.push(`s.${f.name} = (${f.type})(${v < 0n ? `${v}LL` : `${v}ULL`});`);
    }
  }
  return lines;
}

function cProgram(): string {
  const out: string[] = [
    '#include <stdio.h>',
    '#include <stddef.h>',
    '#include <string.h>',
    '#include <netinet/in.h>',
    '#include <arpa/inet.h>',
    `#include "${HEADER_PATH}"`,
    'static void hex(const char *name, const void *p, size_t n) {',
    '  printf("sample %s ", name);',
    '  for (size_t i = 0; i < n; i++) printf("%02x", ((const unsigned char *)p)[i]);',
    '  printf("\\n");',
    '}',
    'int main(void) {',
    '  struct sockaddr_in v4; memset(&v4, 0, sizeof v4);',
    '  v4.sin_family = AF_INET; v4.sin_port = htons(1234); inet_pton(AF_INET, "10.1.2.3", &v4.sin_addr);',
    '  struct sockaddr_in6 v6; memset(&v6, 0, sizeof v6);',
    '  v6.sin6_family = AF_INET6; v6.sin6_port = htons(443); inet_pton(AF_INET6, "2001:db8::1", &v6.sin6_addr);',
    '  printf("const AF_INET %d\\n", AF_INET);',
    '  printf("const AF_INET6 %d\\n", AF_INET6);',
    '  printf("const sockaddr_in %zu\\n", sizeof(struct sockaddr_in));',
    '  printf("const sockaddr_in6 %zu\\n", sizeof(struct sockaddr_in6));',
    '  printf("const sockaddr_storage %zu\\n", sizeof(struct sockaddr_storage));',
  ];
  for (const name of Object.keys(TYPES)) {
    out.push(`  printf("size ${name} %zu %zu\\n", sizeof(${name}), _Alignof(${name}));`);
    for (const f of structs.get(name) ?? []) {
      out.push(`  printf("offset ${name} ${f.name} %zu\\n", offsetof(${name}, ${f.name}));`);
    }
  }
  for (const name of SAMPLED) {
    out.push(
      '  {',
      `    ${name} s;`,
      ...fillStatements(name).map((l) => `    ${l}`),
      `    hex("${name}", &s, sizeof s);`,
      '  }',
    );
  }
  out.push('  return 0;', '}');
  return out.join('\n');
}

interface CFacts {
  consts: Map<string, number>;
  sizes: Map<string, { size: number; align: number }>;
  offsets: Map<string, Map<string, number>>;
  samples: Map<string, Uint8Array>;
}

let dir: string;
let facts: CFacts;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'quichex-layout-'));
  const src = path.join(dir, 'layout.c');
  const exe = path.join(dir, 'layout');
  writeFileSync(src, cProgram());
  // quiche.h needs POSIX's struct timespec: gnu11, not strict c11.
  execFileSync('cc', ['-std=gnu11', '-o', exe, src], { stdio: 'pipe' });
  const output = execFileSync(exe, { encoding: 'utf8' });
  facts = { consts: new Map(), sizes: new Map(), offsets: new Map(), samples: new Map() };
  for (const line of output.trim().split('\n')) {
    const [kind, a, b, c] = line.split(' ');
    if (kind === 'const') facts.consts.set(a!, Number(b));
    else if (kind === 'size') facts.sizes.set(a!, { size: Number(b), align: Number(c) });
    else if (kind === 'offset') {
      if (!facts.offsets.has(a!)) facts.offsets.set(a!, new Map());
      facts.offsets.get(a!)!.set(b!, Number(c));
    } else if (kind === 'sample') facts.samples.set(a!, new Uint8Array(Buffer.from(b!, 'hex')));
  }
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('struct layouts against the C compiler', () => {
  it('parses the eight structs of quiche.h', () => {
    expect([...structs.keys()].sort()).toEqual(Object.keys(TYPES).sort());
    expect(structs.get('quiche_stats')!.length).toBe(26);
    expect(structs.get('quiche_path_stats')!.length).toBe(26);
  });

  for (const [name, type] of Object.entries(TYPES)) {
    it(`${name}: same fields, offsets, size and alignment`, () => {
      const fields = structs.get(name)!.map((f) => f.name);
      expect(Object.keys(koffi.type(type).members ?? {})).toEqual(fields);
      const cOffsets = facts.offsets.get(name)!;
      const koffiOffsets = new Map(fields.map((f) => [f, koffi.offsetof(type, f)]));
      expect(koffiOffsets).toEqual(cOffsets);
      expect({ size: koffi.sizeof(type), align: koffi.alignof(type) }).toEqual(facts.sizes.get(name));
    });
  }

  it('StructSize matches sizeof', () => {
    for (const [name, size] of Object.entries(StructSize)) {
      if (name === 'sockaddr_storage') expect(size).toBe(facts.consts.get('sockaddr_storage'));
      else expect(size, name).toBe(facts.sizes.get(name)?.size);
    }
    expect(Object.keys(StructSize).sort()).toEqual(
      [
        'quiche_recv_info',
        'quiche_send_info',
        'quiche_stats',
        'quiche_transport_params',
        'quiche_path_stats',
        'quiche_h3_stats',
        'sockaddr_storage',
      ].sort(),
    );
  });

  it('sockaddr constants match the system headers', () => {
    expect(AF_INET).toBe(facts.consts.get('AF_INET'));
    expect(AF_INET6).toBe(facts.consts.get('AF_INET6'));
    expect(SOCKADDR_IN_LEN).toBe(facts.consts.get('sockaddr_in'));
    expect(SOCKADDR_IN6_LEN).toBe(facts.consts.get('sockaddr_in6'));
  });
});

describe('decoders read structs written by C', () => {
  const v4 = { family: 'IPv4', address: '10.1.2.3', port: 1234 };
  const v6 = { family: 'IPv6', address: '2001:db8::1', port: 443, scopeId: 0 };

  /** Expected decoded scalar fields of a sampled struct. */
  function expectedScalars(name: string): Record<string, bigint> {
    const out: Record<string, bigint> = {};
    for (const [i, f] of structs.get(name)!.entries()) {
      if (['bool', 'ssize_t', 'uint64_t', 'size_t'].includes(f.type)) out[f.name] = sampleValue(f, i);
    }
    return out;
  }

  function asBigInts(obj: object, keys: string[]): Record<string, bigint> {
    const rec = obj as Record<string, unknown>;
    return Object.fromEntries(
      keys.map((k) => [
        k,
        typeof rec[k] === 'boolean' ? BigInt(rec[k] ? 1 : 0) : BigInt(rec[k] as number | bigint),
      ]),
    );
  }

  it('SendInfoLayout is the C layout of quiche_send_info', () => {
    expect(new Map(Object.entries(SendInfoLayout))).toEqual(facts.offsets.get('quiche_send_info'));
  });

  it('decodeSendInfo', () => {
    expect(decodeSendInfo(facts.samples.get('quiche_send_info')!)).toEqual({
      from: v4,
      to: v6,
      at: 5_000_000_006n,
    });
  });

  it('decodeStats', () => {
    const want = expectedScalars('quiche_stats');
    const got = decodeStats(facts.samples.get('quiche_stats')!);
    expect(asBigInts(got, Object.keys(want))).toEqual(want);
    expect(got.tx_buffered_inconsistent).toBe(true);
    // Values above 2^53 - 1 come back as bigint, small ones as number.
    expect(typeof got.sent_bytes).toBe('bigint');
    expect(typeof got.recv).toBe('number');
  });

  it('decodePathStats, with both addresses', () => {
    const want = expectedScalars('quiche_path_stats');
    const got = decodePathStats(facts.samples.get('quiche_path_stats')!);
    expect(asBigInts(got, Object.keys(want))).toEqual(want);
    expect(got.local_addr).toEqual(v4);
    expect(got.peer_addr).toEqual(v6);
    expect(got.validation_state).toBe(Number(want.validation_state));
    expect(got).not.toHaveProperty('local_addr_len');
  });

  it('decodeTransportParams reads the ten leading uint64_t fields where the header puts them', () => {
    // The last three fields are not where quiche.h says (quiche's Rust struct
    // is not repr(C)); transport-params.test.ts checks them against libquiche.
    const leading = structs.get('quiche_transport_params')!.slice(0, 10);
    expect(leading.every((f) => f.type === 'uint64_t')).toBe(true);
    const want = expectedScalars('quiche_transport_params');
    const keys = leading.map((f) => f.name);
    const got = decodeTransportParams(facts.samples.get('quiche_transport_params')!);
    expect(asBigInts(got, keys)).toEqual(Object.fromEntries(keys.map((k) => [k, want[k]!])));
  });

  it('decodeH3Stats', () => {
    const want = expectedScalars('quiche_h3_stats');
    expect(asBigInts(decodeH3Stats(facts.samples.get('quiche_h3_stats')!), Object.keys(want))).toEqual(want);
  });
});
