import t from 'tap'
import { iso } from '../../src/http/views.js'

t.test('iso writes exactly what Date does', async (t) => {
  const samples = [
    0, 1, 9, 10, 99, 100, 999, 1000, 1001, -1, -999, -1000, -1001, -86_400_000,
    Date.UTC(2026, 10, 21, 23, 59, 59, 999), Date.UTC(2026, 10, 22, 0, 0, 0, 0),
    Date.UTC(1969, 11, 31, 23, 59, 59, 1), 253_402_300_799_999, 253_402_300_800_000, 8.64e15, -8.64e15, 1.5, 1_795_300_000_000.25,
  ]
  let seed = 42
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
  for (let i = 0; i < 2000; i++) samples.push(Math.floor(random() * 4e12) - 1e12)
  // Runs of neighbouring times, as a page of messages has, across second boundaries.
  for (let ms = 1_795_300_000_990; ms < 1_795_300_001_020; ms++) samples.push(ms)
  for (const ms of samples) {
    const expected = new Date(ms).toISOString()
    if (iso(ms) !== expected) t.fail(`${ms}: ${iso(ms)} instead of ${expected}`)
  }
  t.equal(iso(1_795_300_000_007), '2026-11-21T22:26:40.007Z')
  t.equal(iso(1_795_300_000_007), new Date(1_795_300_000_007).toISOString(), 'a repeat hits the cached second')
})
