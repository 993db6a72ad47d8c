import t from 'tap'
import { addressGroup } from '../../src/core/addresses.js'
import { CODE_ALPHABET, newPairingCode, normalizePairingCode, PAIRING_CODE_BITS } from '../../src/core/ids.js'
import { PAIRING_WORDS } from '../../src/core/words.js'

t.test('the word list: 1024 distinct words of 2-10 capital letters, so a word is 10 bits', async (t) => {
  t.equal(PAIRING_WORDS.length, 1024)
  t.equal(new Set(PAIRING_WORDS).size, PAIRING_WORDS.length, 'no word twice')
  t.same(PAIRING_WORDS.filter((word) => !/^[A-Z]{2,10}$/.test(word)), [], 'every word fits the code shape')
  t.equal(PAIRING_CODE_BITS, 45)
  t.equal(CODE_ALPHABET.length, 32)
})

t.test('codes draw on the whole list, each one in the shape clients match', async (t) => {
  const seen = new Set<string>()
  for (let i = 0; i < 20_000; i++) {
    const code = newPairingCode()
    if (normalizePairingCode(code) !== code) t.fail(`not a canonical code: ${code}`)
    const [first, second] = code.split('-')
    seen.add(first!)
    seen.add(second!)
  }
  // 40,000 draws from 1024 words miss a given word with odds e^-39: every word shows up.
  t.equal(seen.size, 1024, 'words past the first 256 are drawn too')
})

t.test('addressGroup: IPv4 alone, IPv6 by its /64, mapped IPv4 as IPv4', async (t) => {
  t.equal(addressGroup('192.0.2.1'), '192.0.2.1')
  t.equal(addressGroup('::ffff:192.0.2.1'), '192.0.2.1')
  t.equal(addressGroup('2001:db8:a:b::1'), '2001:db8:a:b::/64')
  t.equal(addressGroup('2001:0DB8:000A:000B:1:2:3:4'), '2001:db8:a:b::/64', 'leading zeros and case do not matter')
  t.equal(addressGroup('2001:db8::1'), '2001:db8:0:0::/64')
  t.equal(addressGroup('::1'), '0:0:0:0::/64')
  t.equal(addressGroup('fe80::1%eth0'), 'fe80:0:0:0::/64', 'a zone is dropped')
  t.equal(addressGroup('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64')
  t.not(addressGroup('2001:db8:a:b::1'), addressGroup('2001:db8:a:c::1'))
  t.equal(addressGroup('not an address'), 'not an address', 'anything else is its own group')
})
