// The benchmark runs the server with a production configuration (bench/common.ts): a setting production comes to
// require must be given there too, or `npm run bench` stops before it measures anything.
import { describe, expect, it } from 'vitest'
import { benchConfig } from '../../bench/common.ts'

describe("the benchmark's configuration", () => {
  it('is a valid production configuration, with every secret set and no jobs', () => {
    const config = benchConfig()
    expect(config.mode).toBe('production')
    expect(config.secretsKey.length).toBeGreaterThanOrEqual(32)
    expect(config.jobs).toBe(false)
  })
})
