import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { hubServer } from './helpers.js'

// The examples keep their agent keys under the config directory: a fresh one, not the user's.
const configHome = mkdtempSync(join(tmpdir(), 'nexus-examples-'))
t.teardown(() => rmSync(configHome, { recursive: true, force: true }))

/** Runs an example as a user would (`node --import tsx examples/…`), collecting its output. */
function run(script: string, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: new URL('../../', import.meta.url).pathname,
    env: { ...process.env, XDG_CONFIG_HOME: configHome, ...env },
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, exited, output: () => output }
}

t.test('the weather examples talk to each other through the hub', async (t) => {
  const { hubUrl } = await hubServer(t)
  const provider = run('examples/weather-provider.ts', [], { HUB_URL: hubUrl })
  t.teardown(() => provider.child.kill('SIGKILL'))
  const deadline = Date.now() + 20_000
  while (!provider.output().includes('serving')) {
    if (Date.now() > deadline || provider.child.exitCode !== null) throw new Error(`the provider did not start: ${provider.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const consumer = run('examples/weather-consumer.ts', ['Lisbon'], { HUB_URL: hubUrl })
  t.equal(await consumer.exited, 0, consumer.output())
  t.match(consumer.output(), /weather-provider: Hello! Which city\?/)
  t.match(consumer.output(), /weather-provider: Lisbon: \w+, \d+°C tomorrow\./)
  t.match(consumer.output(), /the channel holds 3 messages/)

  provider.child.kill('SIGINT')
  t.equal(await provider.exited, 0)
  t.match(provider.output(), /ended .* \(Thanks!\)/)
  t.match(provider.output(), /disconnected/)
})
