import { describe, expect, it } from 'vitest'
import { runScript } from './migrate.ts'

describe('runScript', () => {
  it('sends a script one statement at a time, in order, with quotes, comments and $tag$ bodies kept whole', async () => {
    const sent: string[] = []
    const tx = { unsafe: async (statement: string) => sent.push(statement) }
    await runScript(
      tx as never,
      `create table a (x text default ';');
       -- a comment; with a semicolon
       do $$ begin perform 1; end $$;
       create function f() returns int language sql as $body$ select 1; $body$;
       comment on table a is 'it''s; fine';`,
    )
    expect(sent).toEqual([
      "create table a (x text default ';')",
      '-- a comment; with a semicolon\n       do $$ begin perform 1; end $$',
      'create function f() returns int language sql as $body$ select 1; $body$',
      "comment on table a is 'it''s; fine'",
    ])
  })
})
