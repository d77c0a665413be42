// pagoPA identifiers: IUV and 18-digit notice code (aux digit 3, check digits mod 93) and the QR payload.

export interface NoticeParts {
  aux: '3'
  segregation: string
  base13: string
  check: string
}

export function mod93Check(first16: string): string {
  if (!/^[0-9]{16}$/.test(first16)) throw new Error('mod 93 needs 16 digits')
  return (BigInt(first16) % 93n).toString().padStart(2, '0')
}

/** IUV (17) = segregation (2) + base (13) + check (2); notice code (18) = '3' + IUV. */
export function buildNotice(segregation: string, base13: string): { iuv: string; noticeCode: string } {
  if (!/^[0-9]{2}$/.test(segregation)) throw new Error('segregation code must be 2 digits')
  if (!/^[0-9]{13}$/.test(base13)) throw new Error('IUV base must be 13 digits')
  const first16 = `3${segregation}${base13}`
  const check = mod93Check(first16)
  return { iuv: `${segregation}${base13}${check}`, noticeCode: `${first16}${check}` }
}

export function baseFromSequence(n: number): string {
  if (!Number.isSafeInteger(n) || n < 1 || n >= 10 ** 13) throw new Error('IUV sequence out of range')
  return String(n).padStart(13, '0')
}

export type NoticeProblem = 'format' | 'aux' | 'check'

/** Checks an 18-digit notice code for new notices: aux digit 3 and valid mod-93 check digits. */
export function noticeCodeProblem(code: string): NoticeProblem | null {
  if (!/^[0-9]{18}$/.test(code)) return 'format'
  if (code[0] !== '3') return 'aux'
  return mod93Check(code.slice(0, 16)) === code.slice(16) ? null : 'check'
}

export function parseNoticeCode(code: string): NoticeParts | null {
  if (noticeCodeProblem(code) !== null) return null
  return { aux: '3', segregation: code.slice(1, 3), base13: code.slice(3, 16), check: code.slice(16) }
}

export function iuvFromNoticeCode(code: string): string {
  return code.slice(1)
}

/** Human form of a notice code, grouped by four as on the printed notice. */
export function formatNoticeCode(code: string): string {
  return code.replace(/(\d{4})(?=\d)/g, '$1 ')
}

export function qrPayload(noticeCode: string, creditorFiscalCode: string, amountCents: number): string {
  if (!/^[0-9]{18}$/.test(noticeCode)) throw new Error('notice code must be 18 digits')
  if (!/^[0-9]{11}$/.test(creditorFiscalCode)) throw new Error('creditor fiscal code must be 11 digits')
  if (!Number.isSafeInteger(amountCents) || amountCents < 1 || amountCents > 9_999_999_999) {
    throw new Error('amount out of range')
  }
  return `PAGOPA|002|${noticeCode}|${creditorFiscalCode}|${amountCents}`
}

export function parseQrPayload(
  text: string,
): { noticeCode: string; creditorFiscalCode: string; amountCents: number } | null {
  const m = /^PAGOPA\|002\|([0-9]{18})\|([0-9]{11})\|([0-9]{1,10})$/.exec(text)
  if (!m) return null
  return { noticeCode: m[1] as string, creditorFiscalCode: m[2] as string, amountCents: Number(m[3]) }
}
