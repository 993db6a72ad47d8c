import t from 'tap'
import { z } from 'zod'
import { replySerializer } from '../../src/http/serializer.js'

const schema = z.object({ id: z.string(), cursor: z.string().regex(/^\d+$/), json: z.json().optional(), tags: z.array(z.string()) })
const compile = (checkReplies: boolean) =>
  replySerializer({ checkReplies })({ schema, method: 'GET', url: '/x', httpStatus: '200' }) as (data: unknown) => string

t.test('writes the same JSON as JSON.stringify, for any json payload', async (t) => {
  const write = compile(false)
  for (const json of [undefined, null, 1, 'two', [3, { four: [5] }], { nested: { deep: ['x', null, true] } }]) {
    const data = { id: 'm', cursor: '7', tags: ['a'], ...(json !== undefined ? { json } : {}) }
    t.same(JSON.parse(write(data)), data, JSON.stringify(json))
  }
})

t.test('with checkReplies a reply of the wrong shape fails loudly', async (t) => {
  const checked = compile(true)
  t.doesNotThrow(() => checked({ id: 'm', cursor: '7', tags: [] }))
  t.throws(() => checked({ id: 'm', cursor: 7, tags: [] }), /does not match its schema/)
  t.throws(() => checked({ id: 'm', cursor: 'seven', tags: [] }), /does not match its schema/)
  t.throws(() => checked({ cursor: '7', tags: [] }), /does not match its schema/)
})
