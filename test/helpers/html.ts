// HTML assertions: html-validate (recommended + a11y presets) over rendered pages.
import { HtmlValidate } from 'html-validate'
import { expect } from 'vitest'

const validator = new HtmlValidate({
  extends: ['html-validate:recommended', 'html-validate:a11y'],
  rules: {
    // Eta output keeps template indentation; formatting is not what this check is for
    'no-trailing-whitespace': 'off',
    // the htmx-config meta uses a JSON value in single quotes, which is valid HTML
    'attr-quotes': 'off',
    // inline SVG charts and hx-* attributes are ours on purpose
    'no-unknown-elements': 'off',
    'attribute-allowed-values': 'error',
    // a scrolling table's wrapper is a region named by the table's caption, not a <section>: the W3C checker warns
    // of a section without a heading
    'prefer-native-element': ['error', { exclude: ['region'] }],
    // checkboxes of one question share their name (the installments a payment covers), as HTML means them to
    'form-dup-name': ['error', { shared: ['radio', 'checkbox', 'button', 'reset', 'submit'] }],
  },
})

export async function expectValidHtml(html: string) {
  const report = await validator.validateString(html)
  const messages = report.results.flatMap((r) => r.messages.map((m) => `${m.ruleId}: ${m.message} (line ${m.line})`))
  expect(messages, messages.join('\n')).toEqual([])
}
