/**
 * Every function quiche.h declares is exported by @quichex/ffi under its C
 * name, bound with the header's parameter count, in header order; and every
 * `quiche_*` symbol libquiche.so exports is bound.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as ffi from '../src/index.js';
import { boundFunctions } from '../src/index.js';
import {
  type DeclaredFunction,
  GLUE_HEADER_PATH,
  LIBRARY_PATH,
  parseFunctions,
  readHeader,
} from './support/header.js';

const declared: DeclaredFunction[] = parseFunctions(readHeader());
/** quichex's glue, declared in its own header (quichex.h). */
const glue: DeclaredFunction[] = parseFunctions(readFileSync(GLUE_HEADER_PATH, 'utf8'));
// Exported by libquiche (ffi.rs) but missing from quiche.h 0.30.0, then our glue.
const NOT_IN_HEADER = ['quiche_config_set_pmtud_max_probes', ...glue.map((f) => f.name)];
const exports = ffi as unknown as Record<string, unknown>;

describe('the header parser', () => {
  it('counts parameters of function-pointer, (void) and multi-line declarations', () => {
    const parsed = parseFunctions(`
      /* int quiche_commented_out(int a); */
      // void quiche_line_comment(void);
      #if defined(__cplusplus)
      extern "C" {
      #endif
      const char *quiche_a(void);
      int quiche_b(void (*cb)(const char *line, void *argp),
                   void *argp);
      typedef struct { int x; } quiche_s;
      enum quiche_e { QUICHE_E_A = -1, QUICHE_E_B = QUICHE_E_A - 1000, };
      int64_t quiche_c(quiche_h3_conn *conn, quiche_conn *quic_conn,
                       quiche_h3_event **ev);
      quiche_h3_config *quiche_d();
    `);
    expect(parsed.map((f) => [f.name, f.params])).toEqual([
      ['quiche_a', 0],
      ['quiche_b', 2],
      ['quiche_c', 3],
      ['quiche_d', 0],
    ]);
  });
});

describe("coverage of quichex's glue (quichex.h)", () => {
  it('declares the 13 quichex_* functions, each once', () => {
    expect(glue.map((f) => f.name)).toEqual([
      'quichex_conn_early_data_reason',
      'quichex_tls_new',
      'quichex_tls_free',
      'quichex_tls_set_identity',
      'quichex_tls_add_server_name',
      'quichex_tls_set_verify',
      'quichex_trust_new',
      'quichex_trust_free',
      'quichex_conn_verify_peer',
      'quichex_verify_error_name',
      'quichex_verify_error_string',
      'quichex_conn_peer_cert_at',
      'quichex_conn_set_keylog_callback',
    ]);
  });

  it('binds each with the parameter count of its declaration, in header order', () => {
    for (const f of glue) {
      expect(exports[f.name], f.name).toBe(boundFunctions().get(f.name));
      expect(boundFunctions().get(f.name)?.info.arguments.length, f.name).toBe(f.params);
    }
    const order = [...boundFunctions().keys()].filter((n) => n.startsWith('quichex_'));
    expect(order).toEqual(glue.map((f) => f.name));
  });
});

describe('coverage of quiche.h', () => {
  it('finds the 174 functions of quiche 0.30.0, each declared once', () => {
    expect(declared.length).toBe(174);
    expect(new Set(declared.map((f) => f.name)).size).toBe(declared.length);
    // Spot checks of the parse, including the callback-taking declarations.
    const byName = new Map(declared.map((f) => [f.name, f.params]));
    expect(byName.get('quiche_version')).toBe(0);
    expect(byName.get('quiche_enable_debug_logging')).toBe(2);
    expect(byName.get('quiche_h3_event_for_each_header')).toBe(3);
    expect(byName.get('quiche_h3_take_last_priority_update')).toBe(4);
    expect(byName.get('quiche_conn_dgram_purge_outgoing')).toBe(2);
    expect(byName.get('quiche_header_info')).toBe(11);
    expect(byName.get('quiche_path_event_reused_source_connection_id')).toBe(10);
  });

  it('exports every declared function as a bound koffi function', () => {
    const missing = declared.filter((f) => typeof exports[f.name] !== 'function').map((f) => f.name);
    expect(missing).toEqual([]);
    const unbound = declared.filter((f) => !boundFunctions().has(f.name)).map((f) => f.name);
    expect(unbound).toEqual([]);
    // The export is the very function recorded by bind().
    for (const f of declared) expect(exports[f.name], f.name).toBe(boundFunctions().get(f.name));
  });

  it('binds each function with the parameter count of its declaration', () => {
    const mismatched = declared
      .map((f) => ({
        name: f.name,
        header: f.params,
        bound: boundFunctions().get(f.name)?.info.arguments.length,
      }))
      .filter((m) => m.header !== m.bound);
    expect(mismatched).toEqual([]);
  });

  it('binds nothing beyond the header except the known undeclared export', () => {
    const names = new Set(declared.map((f) => f.name));
    const extra = [...boundFunctions().keys()].filter((n) => !names.has(n));
    expect(extra).toEqual(NOT_IN_HEADER);
    expect(typeof exports.quiche_config_set_pmtud_max_probes).toBe('function');
  });

  it('records the bindings in header order', () => {
    const boundOrder = [...boundFunctions().keys()].filter((n) => !NOT_IN_HEADER.includes(n));
    expect(boundOrder).toEqual(declared.map((f) => f.name));
  });

  it('binds every quiche_* and quichex_* symbol that libquiche.so exports, and nothing else', () => {
    const nm = execFileSync('nm', ['-D', '--defined-only', LIBRARY_PATH], { encoding: 'utf8' });
    const symbols = nm
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((cols) => cols[1] === 'T' && /^quichex?_/.test(cols[2] ?? ''))
      .map((cols) => cols[2]!);
    expect(symbols.filter((s) => s.startsWith('quiche_')).length).toBe(175);
    expect(symbols.filter((s) => s.startsWith('quichex_')).sort()).toEqual(glue.map((f) => f.name).sort());
    expect(symbols.filter((s) => !boundFunctions().has(s))).toEqual([]);
    expect([...boundFunctions().keys()].filter((n) => !symbols.includes(n))).toEqual([]);
  });
});
