import { describe, expect, it } from 'vitest'
import { homeLanes, type Lanes, pickLane, STEAL_AT } from './lanes.ts'

const lanesOf = (load: number[]): Lanes => ({
  pools: load.map(() => ({}) as Lanes['pools'][number]),
  load,
  generations: load.map(() => 0),
  expires: load.map(() => 0),
  waiting: load.map(() => []),
  held: load.map(() => false),
  recycle: () => {},
})
const schemas = Array.from({ length: 1000 }, (_, i) => `t_tenant_${i}`)

describe('tenant lanes', () => {
  it('give every tenant two distinct home lanes, the same on every call, spread over the pool', () => {
    for (const n of [2, 3, 10]) {
      const count = new Array(n).fill(0)
      for (const s of schemas) {
        const [a, b] = homeLanes(s, n)
        expect(a).not.toBe(b)
        expect([a, b].every((x) => x >= 0 && x < n)).toBe(true)
        expect(homeLanes(s, n)).toEqual([a, b])
        count[a]++
        count[b]++
      }
      // each lane is a home to about 2/n of the tenants
      for (const c of count) expect(c).toBeGreaterThan((2000 / n) * 0.8)
    }
  })

  it('take the less busy home, and an idle lane only when both homes are busy', () => {
    const s = schemas[7] as string
    const [a, b] = homeLanes(s, 10)
    const load = new Array(10).fill(0)
    expect(pickLane(lanesOf(load), s)).toBe(a)
    load[a] = 1
    expect(pickLane(lanesOf(load), s)).toBe(b)
    load[b] = 2
    expect(pickLane(lanesOf(load), s)).toBe(a)
    // all busy: stays home, however long its queue
    expect(pickLane(lanesOf(new Array(10).fill(5)), s)).toBe(a)
    const skewed = new Array(10).fill(1)
    skewed[a] = 9
    skewed[b] = 9
    expect(pickLane(lanesOf(skewed), s)).toBe(a)
    // both homes at STEAL_AT and a lane idle: the idle lane
    const idle = [...Array(10).keys()].find((i) => i !== a && i !== b) as number
    skewed[idle] = 0
    expect(pickLane(lanesOf(skewed), s)).toBe(idle)
    skewed[a] = STEAL_AT - 1
    expect(pickLane(lanesOf(skewed), s)).toBe(a)
  })
})
