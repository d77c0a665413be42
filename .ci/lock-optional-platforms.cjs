// The npm registry reachable here lacks Biome's binaries for other platforms, so `npm install` leaves them
// out of package-lock.json and `npm ci` then refuses the lock. This puts the optional entries back (they
// are never fetched on Linux x64). Run after any `npm install` that rewrites the lock.
const fs = require('node:fs')
const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8'))
const biome = lock.packages['node_modules/@biomejs/biome']
const plats = {
  'android-arm64': ['android', 'arm64'],
  'android-x64': ['android', 'x64'],
  'darwin-arm64': ['darwin', 'arm64'],
  'darwin-x64': ['darwin', 'x64'],
  'linux-arm64': ['linux', 'arm64', 'glibc'],
  'linux-arm64-musl': ['linux', 'arm64', 'musl'],
  'linux-x64': ['linux', 'x64', 'glibc'],
  'linux-x64-musl': ['linux', 'x64', 'musl'],
  'win32-arm64': ['win32', 'arm64'],
  'win32-x64': ['win32', 'x64'],
}
for (const [k, [os, cpu, libc]] of Object.entries(plats)) {
  const key = `node_modules/@biomejs/cli-${k}`
  if (lock.packages[key]) continue
  const e = {
    version: biome.version,
    dev: true,
    license: 'MIT OR Apache-2.0',
    optional: true,
    os: [os],
    cpu: [cpu],
    engines: { node: '>=14.21.3' },
  }
  if (libc) e.libc = [libc]
  lock.packages[key] = e
}
const sorted = {}
for (const k of Object.keys(lock.packages).sort()) sorted[k] = lock.packages[k]
lock.packages = sorted
fs.writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`)
