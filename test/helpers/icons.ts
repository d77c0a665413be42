// Renders the platform's icons from static/icons/icon.svg with Chromium and writes the PNGs and favicon.ico beside
// it (run again after changing the SVG): npx tsx test/helpers/icons.ts
import { readFileSync, writeFileSync } from 'node:fs'
import { chromium } from 'playwright-core'
import { projectPath } from '../../src/platform/paths.ts'

export const ICON_SIZES: [file: string, size: number, square: boolean][] = [
  ['icons/icon-32.png', 32, false],
  ['icons/apple-touch-icon.png', 180, true], // iOS rounds the corners itself: a full square, no transparency
  ['icons/icon-192.png', 192, false],
  ['icons/icon-512.png', 512, false],
]

/** An ICO file holding one PNG image (PNG-in-ICO: every browser since Internet Explorer 11 reads it). */
export function icoOfPng(png: Buffer, size: number): Buffer {
  const head = Buffer.alloc(6 + 16)
  head.writeUInt16LE(0, 0) // reserved
  head.writeUInt16LE(1, 2) // type: icon
  head.writeUInt16LE(1, 4) // one image
  head.writeUInt8(size % 256, 6) // width (0 means 256)
  head.writeUInt8(size % 256, 7) // height
  head.writeUInt16LE(1, 10) // colour planes
  head.writeUInt16LE(32, 12) // bits per pixel
  head.writeUInt32LE(png.length, 14)
  head.writeUInt32LE(head.length, 18) // the image follows the directory
  return Buffer.concat([head, png])
}

async function main() {
  const svg = readFileSync(projectPath('static/icons/icon.svg'), 'utf8')
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox'] })
  try {
    for (const [file, size, square] of ICON_SIZES) {
      const page = await browser.newPage({ viewport: { width: size, height: size } })
      const sized = svg.replace('<svg ', `<svg width="${size}" height="${size}" `)
      await page.setContent(`<body style="margin:0">${square ? sized.replace(/ rx="\d+"/, '') : sized}</body>`)
      const png = await page.screenshot({ omitBackground: !square, clip: { x: 0, y: 0, width: size, height: size } })
      writeFileSync(projectPath(`static/${file}`), png)
      if (size === 32) writeFileSync(projectPath('static/favicon.ico'), icoOfPng(png, 32))
      await page.close()
    }
  } finally {
    await browser.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
