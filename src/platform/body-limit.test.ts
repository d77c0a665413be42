import { describe, expect, it } from 'vitest'
import { UploadBudget } from './body-limit.ts'

describe('UploadBudget', () => {
  it('reserves within the bytes and the uploads per account, and gives back once', () => {
    const budget = new UploadBudget(100, 2)
    const a1 = budget.reserve('a', 40)
    const a2 = budget.reserve('a', 40)
    expect(a1 && a2).toBeTruthy()
    // a third for the same account, even small
    expect(budget.reserve('a', 1)).toBeNull()
    // another account: only what is left of the bytes
    expect(budget.reserve('b', 21)).toBeNull()
    const b = budget.reserve('b', 20)
    expect(b).toBeTruthy()
    expect(budget.inUse).toEqual({ bytes: 100, accounts: 2 })
    a1?.()
    a1?.()
    expect(budget.inUse).toEqual({ bytes: 60, accounts: 2 })
    expect(budget.reserve('a', 40)).toBeTruthy()
    a2?.()
    b?.()
    expect(budget.inUse.accounts).toBe(1)
  })
})
