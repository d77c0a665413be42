// Sums a V8 CPU profile (`npm run bench -- --profile`, or node --cpu-prof) by where the time went: self time per
// package (node_modules/<name>), per Node.js internal module, Sportello's own code, the garbage collector and the
// idle loop; then the heaviest functions. Percentages are of the busy time (idle left out).
//
//   npx tsx bench/profile.ts bench/results/profile/CPU.….cpuprofile [--top 40]
import { readFile } from 'node:fs/promises'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}
interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame
  if (!url) return functionName.startsWith('(') ? functionName : '(native)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg) return pkg[1] as string
  if (url.startsWith('node:')) return url
  if (/\/(dist|src)\//.test(url)) return 'sportello'
  return url
}

export function summarise(profile: Profile): {
  busyMs: number
  areas: [string, number][]
  functions: [string, number][]
} {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  for (const [i, id] of profile.samples.entries()) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  const areas = new Map<string, number>()
  const functions = new Map<string, number>()
  let busy = 0
  for (const [id, us] of self) {
    const frame = (byId.get(id) as ProfileNode).callFrame
    const area = areaOf(frame)
    if (area === '(idle)') continue
    busy += us
    areas.set(area, (areas.get(area) ?? 0) + us)
    const file = frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|src)\//, '$1/')
    const key = `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`
    functions.set(key, (functions.get(key) ?? 0) + us)
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1])
  return { busyMs: busy / 1000, areas: sorted(areas), functions: sorted(functions) }
}

async function main() {
  const file = process.argv[2]
  if (!file) throw new Error('usage: npx tsx bench/profile.ts FILE.cpuprofile [--top N]')
  const top = Number(process.argv[process.argv.indexOf('--top') + 1]) || 30
  const { busyMs, areas, functions } = summarise(JSON.parse(await readFile(file, 'utf8')) as Profile)
  const pct = (us: number) => `${((us / 1000 / busyMs) * 100).toFixed(1)}%`
  console.log(`busy ${busyMs.toFixed(0)} ms\n\n| where | self | share |\n| --- | ---: | ---: |`)
  for (const [area, us] of areas.slice(0, 25)) console.log(`| ${area} | ${(us / 1000).toFixed(0)} ms | ${pct(us)} |`)
  console.log(`\n| function | self | share |\n| --- | ---: | ---: |`)
  for (const [fn, us] of functions.slice(0, top)) console.log(`| ${fn} | ${(us / 1000).toFixed(0)} ms | ${pct(us)} |`)
}

if (import.meta.url === `file://${process.argv[1]}`) await main()
