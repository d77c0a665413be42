// A PNG built by hand (IHDR, one zlib-compressed IDAT, IEND, with their CRCs), so that no image library is needed:
// one colour all over, RGB or grey.
import { deflateSync } from 'node:zlib'

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc(b: Buffer): number {
  let c = 0xffffffff
  for (const x of b) c = (CRC_TABLE[(c ^ x) & 0xff] as number) ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function chunk(type: string, data: Buffer): Buffer {
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  td.copy(out, 4)
  out.writeUInt32BE(crc(td), 8 + data.length)
  return out
}

/** A width × height PNG, 8 bits a sample, every sample `fill`; RGB, or one grey sample a pixel. */
export function solidPng(width: number, height: number, opts: { fill: number; grey?: boolean }): Buffer {
  const samples = opts.grey ? 1 : 3
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr.set([8, opts.grey ? 0 : 2, 0, 0, 0], 8)
  const row = width * samples + 1
  const raw = Buffer.alloc(row * height, opts.fill)
  for (let y = 0; y < height; y++) raw[y * row] = 0
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ])
}
