import t from 'tap'
import { hashSessionKey, newMessageId, newSessionId } from '../../src/core/ids.js'
import { MemoryStore } from '../../src/store/memory.js'
import { storeConformance } from './conformance.js'

storeConformance(t, (limits) => new MemoryStore(limits))

t.test('kept messages all have one shape, whatever the draft held', async (t) => {
  // One set of fields in one order is what lets V8 give every kept message the same hidden
  // class; a message built by spreading its draft got a class (and 264 bytes) of its own.
  const store = new MemoryStore({ maxSessions: 10, maxMessagesPerSession: 100 })
  t.teardown(() => store.close())
  const id = newSessionId()
  const keyHash = hashSessionKey('k')
  await store.create({ id, ttlSeconds: 60, maxAgents: 5, creatorAgentId: 'a', creator: { agentId: 'a', keyHash } }, Date.now())
  const base = { agentId: 'a', verified: false, redactions: [], bytes: 10 }
  const drafts = [
    { ...base, id: newMessageId(), text: 'plain' },
    { ...base, id: newMessageId(), json: { n: 1 } },
    { ...base, id: newMessageId(), json: [1], text: 'both, in the other order' },
    { bytes: 22, redactions: ['aws_access_key'], verified: true, text: 'fields given backwards', agentId: 'a', id: newMessageId() },
  ]
  const shapes = new Set<string>()
  for (const draft of drafts) {
    const sent = await store.append(id, draft, undefined, Date.now())
    t.ok(sent.ok)
    if (sent.ok) shapes.add(Object.keys(sent.message).join(','))
  }
  t.same([...shapes], ['id,agentId,text,json,verified,redactions,bytes,cursor,createdAt'])
})
