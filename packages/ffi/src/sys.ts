/**
 * The one libc facility quiche's C API leaves to its caller that Node's
 * `dgram` lacks: sending a batch of equal-size UDP datagrams with one
 * `sendmsg` through UDP generic segmentation offload (Linux `UDP_SEGMENT`).
 * Not a quiche binding; used by `quichex` behind its `gso` option, with a
 * fallback to `dgram` when anything here is unavailable.
 *
 * @module
 */
import koffi from 'koffi';

/** Largest batch one GSO `sendmsg` may carry (payload bytes; the UDP length field caps it). */
export const GSO_MAX_BYTES = 65_000;
/** Most segments the kernel accepts in one GSO send (`UDP_MAX_SEGMENTS`). */
export const GSO_MAX_SEGMENTS = 64;

const SOL_UDP = 17;
const UDP_SEGMENT = 103;

/**
 * Sends batches through UDP GSO from a native buffer whose address is fixed,
 * so the `iovec` and `cmsghdr` are written once.
 */
export interface GsoSender {
  /** The batch buffer: write datagrams back to back here, then call {@link GsoSender.send}. */
  readonly buffer: Buffer;
  /**
   * Sends `buffer[0..len]` on socket `fd` as datagrams of `segment` bytes
   * (the last may be shorter) to `dest` (an encoded sockaddr; `null` on a
   * connected socket). Returns the bytes sent, or `-errno`.
   */
  send(fd: number, len: number, segment: number, dest: Uint8Array | null, destLen: number): number;
}

/**
 * A GSO sender on Linux x64/arm64 with glibc, or `null` elsewhere (the
 * caller then sends datagram by datagram).
 *
 * @example
 * ```ts
 * const gso = createGsoSender();
 * if (gso) { gso.buffer.set(packets); gso.send(fd, total, 1350, null, 0); }
 * ```
 */
export function createGsoSender(): GsoSender | null {
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) return null;
  let sendmsg: (fd: number, msg: bigint, flags: number) => number;
  try {
    sendmsg = koffi
      .load('libc.so.6')
      .func('intptr_t sendmsg(int fd, const void *msg, int flags)') as typeof sendmsg;
  } catch {
    return null;
  }
  // One native block: data, then sockaddr (128), iovec (16), cmsghdr with a u16 (24), msghdr (56).
  const DATA = 0;
  const NAME = GSO_MAX_BYTES + 8;
  const IOV = NAME + 128;
  const CMSG = IOV + 16;
  const MSG = CMSG + 24;
  const base = koffi.alloc('uint8_t', MSG + 56) as bigint;
  const mem = Buffer.from(koffi.view(base, MSG + 56));
  mem.fill(0);
  mem.writeBigUInt64LE(base + BigInt(DATA), IOV); // iov_base
  mem.writeBigUInt64LE(18n, CMSG); // cmsg_len = CMSG_LEN(sizeof(uint16_t))
  mem.writeInt32LE(SOL_UDP, CMSG + 8);
  mem.writeInt32LE(UDP_SEGMENT, CMSG + 12);
  mem.writeBigUInt64LE(base + BigInt(IOV), MSG + 16); // msg_iov
  mem.writeBigUInt64LE(1n, MSG + 24); // msg_iovlen
  mem.writeBigUInt64LE(base + BigInt(CMSG), MSG + 32); // msg_control
  mem.writeBigUInt64LE(24n, MSG + 40); // msg_controllen = CMSG_SPACE(sizeof(uint16_t))
  const MSG_DONTWAIT = 0x40;
  return {
    buffer: mem.subarray(DATA, DATA + GSO_MAX_BYTES),
    send(fd, len, segment, dest, destLen) {
      mem.writeBigUInt64LE(BigInt(len), IOV + 8);
      mem.writeUInt16LE(segment, CMSG + 16);
      if (dest) {
        mem.set(dest.subarray(0, destLen), NAME);
        mem.writeBigUInt64LE(base + BigInt(NAME), MSG);
        mem.writeUInt32LE(destLen, MSG + 8);
      } else {
        mem.writeBigUInt64LE(0n, MSG);
        mem.writeUInt32LE(0, MSG + 8);
      }
      const n = sendmsg(fd, base + BigInt(MSG), MSG_DONTWAIT);
      return n >= 0 ? n : -koffi.errno();
    },
  };
}
